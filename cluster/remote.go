package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
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

// quietClose keeps an endpoint writer that is being stopped from taking
// its successor down with it. protoactor's writer reads its stream on a
// goroutine that, on any error but io.EOF, publishes an
// EndpointTerminatedEvent for the writer's address
// (remote/endpoint_writer.go, initializeInternal); the endpoint manager
// answers by stopping whatever endpoint serves that address now. When the
// writer was stopped on purpose (its endpoint was already removed: the
// member left, or the remote is stopping), closing its connection fails
// that read with "the client connection is closing", and the event stops
// the endpoint created since, typically the one connected to a member
// restarted on the same address, dropping what it had queued; its own
// close then repeats this for the next one. A read that fails because this
// side shut the connection is reported as the end of the stream instead.
// A writer that stops itself after a failed send has not been removed, so
// its read error still goes through and the manager forgets it.
func quietClose(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &closingStream{ClientStream: s, cc: cc}, nil
}

type closingStream struct {
	grpc.ClientStream
	cc         *grpc.ClientConn
	sendFailed atomic.Bool
}

func (s *closingStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil {
		s.sendFailed.Store(true)
	}
	return err
}

func (s *closingStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil && err != io.EOF && !s.sendFailed.Load() && s.cc.GetState() == connectivity.Shutdown {
		return io.EOF
	}
	return err
}

// grpcOptions are the server and dial options of the remote layer.
func grpcOptions(c Config, log *slog.Logger, panics *atomic.Uint64) ([]grpc.ServerOption, []grpc.DialOption) {
	srv := []grpc.ServerOption{
		grpc.ChainStreamInterceptor(recoverStreams(log, panics)),
		grpc.ChainUnaryInterceptor(recoverUnary(log, panics)),
	}
	creds := insecure.NewCredentials()
	if c.TLS != nil {
		srv = append(srv, grpc.Creds(credentials.NewTLS(c.TLS)))
		creds = credentials.NewTLS(c.ClientTLS)
	}
	dial := []grpc.DialOption{grpc.WithTransportCredentials(creds), grpc.WithChainStreamInterceptor(quietClose)}
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
