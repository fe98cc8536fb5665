package grpcpool

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
)

// testServer is a grpc-go server of the test service on 127.0.0.1 whose
// handlers are function fields (nil: echo).
type testServer struct {
	testpb.UnimplementedTestServer
	unary        func(context.Context, *testpb.Request) (*testpb.Reply, error)
	serverStream func(*testpb.Request, grpc.ServerStreamingServer[testpb.Reply]) error

	addr   string
	srv    *grpc.Server
	lis    *cutListener
	health *health.Server
	calls  atomic.Int64 // unary calls received
}

// start serves ts on addr ("" for 127.0.0.1:0) until the test ends.
func (ts *testServer) start(t testing.TB, addr string, opts ...grpc.ServerOption) *testServer {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ts.lis = &cutListener{Listener: l}
	ts.addr = l.Addr().String()
	ts.srv = grpc.NewServer(opts...)
	testpb.RegisterTestServer(ts.srv, ts)
	ts.health = health.NewServer()
	healthpb.RegisterHealthServer(ts.srv, ts.health)
	done := make(chan struct{})
	go func() { defer close(done); _ = ts.srv.Serve(ts.lis) }()
	t.Cleanup(func() { ts.stop(); <-done })
	return ts
}

func (ts *testServer) stop() {
	ts.health.Shutdown()
	ts.srv.Stop()
}

func (ts *testServer) Unary(ctx context.Context, r *testpb.Request) (*testpb.Reply, error) {
	ts.calls.Add(1)
	if ts.unary != nil {
		return ts.unary(ctx, r)
	}
	return &testpb.Reply{Text: r.GetText()}, nil
}

func (ts *testServer) ServerStream(r *testpb.Request, s grpc.ServerStreamingServer[testpb.Reply]) error {
	if ts.serverStream != nil {
		return ts.serverStream(r, s)
	}
	for i := range r.GetCount() {
		if err := s.Send(&testpb.Reply{Text: r.GetText(), Seq: i}); err != nil {
			return err
		}
	}
	return nil
}

func (ts *testServer) ClientStream(s grpc.ClientStreamingServer[testpb.Request, testpb.Reply]) error {
	n := int32(0)
	text := ""
	for {
		r, err := s.Recv()
		if err == io.EOF {
			return s.SendAndClose(&testpb.Reply{Text: text, Seq: n})
		}
		if err != nil {
			return err
		}
		n++
		text += r.GetText()
	}
}

func (ts *testServer) Bidi(s grpc.BidiStreamingServer[testpb.Request, testpb.Reply]) error {
	for i := int32(0); ; i++ {
		r, err := s.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(&testpb.Reply{Text: r.GetText(), Seq: i}); err != nil {
			return err
		}
	}
}

// cutListener remembers the conns it accepted so a test can cut them all
// (connection loss injected at the listener).
type cutListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *cutListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *cutListener) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
}

// newChannel makes a channel closed at the test's end.
func newChannel(t testing.TB, cfg Config) *Channel {
	t.Helper()
	ch, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Close() })
	return ch
}

// bounded is a context for one wait of a test.
func bounded(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recv waits for one value of ch within ctx.
func recv[T any](t testing.TB, ctx context.Context, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// fakeClock is a breaker.Clock moved by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
