package health

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// grpcServer serves svc on 127.0.0.1 and counts the health RPCs it gets.
type grpcServer struct {
	addr          string
	watch, checks atomic.Int32
	stop          func()
}

func startGRPC(t *testing.T, svc healthpb.HealthServer) *grpcServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := &grpcServer{addr: l.Addr().String()}
	s := grpc.NewServer(
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if strings.HasSuffix(info.FullMethod, "/Watch") {
				gs.watch.Add(1)
			}
			return h(srv, ss)
		}),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if strings.HasSuffix(info.FullMethod, "/Check") {
				gs.checks.Add(1)
			}
			return h(ctx, req)
		}),
	)
	healthpb.RegisterHealthServer(s, svc)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.Serve(l) }()
	var once sync.Once
	gs.stop = func() { once.Do(func() { s.Stop(); wg.Wait() }) }
	t.Cleanup(gs.stop)
	return gs
}

// With the standard health server, the checker watches: one Watch stream
// serves every probe (no Check), and a status change pushed by the server
// is probed at once, without waiting for the timer.
func TestGRPCWatch(t *testing.T) {
	hs := health.NewServer()
	hs.SetServingStatus("api", healthpb.HealthCheckResponse_SERVING)
	srv := startGRPC(t, hs)
	h := start(t, Spec{Name: "g", Kind: KindGRPC, Probe: &GRPCProbe{Address: srv.addr, Service: "api"}, UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	if got := h.statuses(t, 2); !reflect.DeepEqual(got, []string{"healthy", "healthy"}) {
		t.Fatalf("%v", got)
	}
	hs.SetServingStatus("api", healthpb.HealthCheckResponse_NOT_SERVING)
	r := h.rec.result(t) // no timer fired: the Watch push triggered it
	if r.Status != "unhealthy" || !strings.Contains(r.Err, "NOT_SERVING") {
		t.Fatalf("%+v", r)
	}
	last, _ := h.c.Status().Last()
	if !errors.Is(last.Err, ErrNotServing) {
		t.Fatalf("err %v", last.Err)
	}
	h.clock.nextDelay(t)
	hs.SetServingStatus("api", healthpb.HealthCheckResponse_SERVING)
	if r := h.rec.result(t); r.Status != "healthy" {
		t.Fatalf("%+v", r)
	}
	if w, c := srv.watch.Load(), srv.checks.Load(); w != 1 || c != 0 {
		t.Fatalf("watch streams %d, checks %d; want 1 and 0", w, c)
	}
}

// checkOnly implements Check only: Watch answers Unimplemented.
type checkOnly struct {
	healthpb.UnimplementedHealthServer
	status atomic.Int32
}

func (s *checkOnly) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_ServingStatus(s.status.Load())}, nil
}

// A server without Watch: the first probe falls back to Check, and every
// later one uses Check without trying Watch again.
func TestGRPCCheckFallback(t *testing.T) {
	svc := &checkOnly{}
	svc.status.Store(int32(healthpb.HealthCheckResponse_SERVING))
	srv := startGRPC(t, svc)
	h := start(t, Spec{Name: "g", Kind: KindGRPC, Probe: &GRPCProbe{Address: srv.addr}, UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	if got := h.statuses(t, 2); !reflect.DeepEqual(got, []string{"healthy", "healthy"}) {
		t.Fatalf("%v", got)
	}
	svc.status.Store(int32(healthpb.HealthCheckResponse_NOT_SERVING))
	if got := h.statuses(t, 1); !reflect.DeepEqual(got, []string{"unhealthy"}) {
		t.Fatalf("%v", got)
	}
	if w, c := srv.watch.Load(), srv.checks.Load(); w != 1 || c != 3 {
		t.Fatalf("watch attempts %d, checks %d; want 1 and 3", w, c)
	}
}

// A service the server does not know is reported, not SERVING.
func TestGRPCUnknownService(t *testing.T) {
	srv := startGRPC(t, health.NewServer())
	p := &GRPCProbe{Address: srv.addr, Service: "nope"}
	t.Cleanup(func() { _ = p.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := p.Probe(ctx); !errors.Is(err, ErrNotServing) || !strings.Contains(err.Error(), "SERVICE_UNKNOWN") {
		t.Fatalf("%v", err)
	}
}

// The Watch stream breaking (the server stopped) is probed at once, not at
// the next interval, and reported as a failure.
func TestGRPCServerGoneIsNoticedAtOnce(t *testing.T) {
	srv := startGRPC(t, health.NewServer())
	h := start(t, Spec{Name: "g", Kind: KindGRPC, Probe: &GRPCProbe{Address: srv.addr}, UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	if got := h.statuses(t, 1); !reflect.DeepEqual(got, []string{"healthy"}) {
		t.Fatalf("%v", got)
	}
	srv.stop()
	r := h.rec.result(t) // no timer fired
	if r.Status != "unhealthy" || !strings.Contains(r.Err, "grpc health") {
		t.Fatalf("%+v", r)
	}
}
