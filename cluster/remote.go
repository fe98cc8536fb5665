package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// recoverStreams returns a gRPC stream interceptor that turns a panic in
// the handler into an error on that stream only. protoactor's endpoint
// reader indexes a peer's batch without bounds checks (type name, serializer
// id, target and sender indexes) and dereferences the result of an unknown
// type's lookup, all on the stream's goroutine: without this, any peer that
// can reach the remote port kills the process with one frame.
func recoverStreams(log *slog.Logger, panics *atomic.Uint64) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if v := recover(); v != nil {
				panics.Add(1)
				log.Warn("cluster: dropped a remote stream that made the receiver panic",
					slog.String("method", info.FullMethod), slog.Any("panic", v),
					slog.String("stack", string(debug.Stack())))
				err = status.Errorf(codes.InvalidArgument, "malformed remote frame: %v", v)
			}
		}()
		return handler(srv, ss)
	}
}

// recoverUnary is recoverStreams for the unary methods of the remoting
// service, which protoactor leaves as panic("implement me").
func recoverUnary(log *slog.Logger, panics *atomic.Uint64) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if v := recover(); v != nil {
				panics.Add(1)
				log.Warn("cluster: a remote call made the receiver panic", slog.String("method", info.FullMethod), slog.Any("panic", v))
				err = status.Errorf(codes.Unimplemented, "%s: %v", info.FullMethod, v)
			}
		}()
		return handler(ctx, req)
	}
}

// grpcOptions are the server and dial options of the remote layer.
func grpcOptions(c Config, log *slog.Logger, panics *atomic.Uint64) ([]grpc.ServerOption, []grpc.DialOption) {
	srv := []grpc.ServerOption{
		grpc.ChainStreamInterceptor(recoverStreams(log, panics)),
		grpc.ChainUnaryInterceptor(recoverUnary(log, panics)),
	}
	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if c.TLS != nil {
		srv = append(srv, grpc.Creds(credentials.NewTLS(c.TLS)))
		dial = []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(c.ClientTLS))}
	}
	return srv, dial
}

// LoadTLS reads a CA bundle, a certificate and its key (PEM files) and
// returns the two sides of mutual TLS for remote traffic: the server
// requires and verifies a client certificate signed by the CA, the client
// verifies the server's certificate against the same CA. Each member's
// certificate must name the host it advertises (an IP SAN for an address).
func LoadTLS(caFile, certFile, keyFile string) (server, client *tls.Config, err error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster tls: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("cluster tls: %s holds no PEM certificate", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster tls: %w", err)
	}
	server = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
	client = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
	}
	return server, client, nil
}
