package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// phases is the demo's schedule of trouble: each service is healthy for up,
// then fails for down, over and over, from start; an offset in [0, up)
// brings the first failure forward by that much.
type phases struct {
	start    time.Time
	up, down time.Duration
	offset   time.Duration
}

// failing says whether the service is in a failing phase at now.
func (p phases) failing(now time.Time) bool {
	cycle := p.up + p.down
	if cycle <= 0 || p.down <= 0 {
		return false
	}
	t := (now.Sub(p.start) + p.offset) % cycle
	if t < 0 {
		t += cycle
	}
	return t >= p.up
}

// next is the first phase boundary after now.
func (p phases) next(now time.Time) time.Time {
	cycle := p.up + p.down
	if cycle <= 0 || p.down <= 0 {
		return time.Time{}
	}
	t := (now.Sub(p.start) + p.offset) % cycle
	if t < 0 {
		t += cycle
	}
	if t < p.up {
		return now.Add(p.up - t)
	}
	return now.Add(cycle - t)
}

// flakyHTTP is the demo's HTTP upstream. Healthy, it answers 200 at once;
// failing, two requests in three get 503 and the third hangs for slow (or
// until the client gives up), so the breaker sees both errors and timeouts.
type flakyHTTP struct {
	ph   phases
	slow time.Duration
	n    atomic.Uint64
}

func (f *flakyHTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !f.ph.failing(time.Now()) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintln(w, `{"status":"ok"}`)
		return
	}
	if r.URL.Path == "/healthz" || f.n.Add(1)%3 != 0 {
		http.Error(w, "demo: failing phase", http.StatusServiceUnavailable)
		return
	}
	t := time.NewTimer(f.slow)
	defer t.Stop()
	select {
	case <-t.C:
		http.Error(w, "demo: slow and failing", http.StatusServiceUnavailable)
	case <-r.Context().Done():
	}
}

// wsEcho is the demo's WebSocket upstream: it echoes every message, drops
// every connection abruptly (no close frame) when a failing phase begins,
// and refuses handshakes with 503 until the phase ends.
type wsEcho struct {
	ph       phases
	upgrader websocket.Upgrader

	mu     sync.Mutex
	conns  map[*websocket.Conn]struct{}
	closed bool
	wg     sync.WaitGroup // one per hijacked connection: http.Server.Shutdown does not wait for them
}

func (e *wsEcho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	if e.ph.failing(now) {
		http.Error(w, "demo: failing phase", http.StatusServiceUnavailable)
		return
	}
	c, err := e.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	if !e.track(c) {
		_ = c.NetConn().Close()
		return
	}
	defer e.untrack(c)
	// The read deadline is the start of the next failing phase: the drop
	// needs no timer goroutine, and pings (answered by gorilla's default
	// handler) do not postpone it.
	_ = c.SetReadDeadline(e.ph.next(now))
	for {
		mt, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := c.WriteMessage(mt, msg); err != nil {
			return
		}
	}
}

func (e *wsEcho) track(c *websocket.Conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.conns[c] = struct{}{}
	e.wg.Add(1)
	return true
}

func (e *wsEcho) untrack(c *websocket.Conn) {
	_ = c.NetConn().Close() // abrupt: the client sees the connection lost
	e.mu.Lock()
	delete(e.conns, c)
	e.mu.Unlock()
	e.wg.Done()
}

// closeAll drops every open connection and waits for their goroutines.
func (e *wsEcho) closeAll() {
	e.mu.Lock()
	e.closed = true
	for c := range e.conns {
		_ = c.NetConn().Close()
	}
	e.mu.Unlock()
	e.wg.Wait()
}

// grpcFlaky is the demo's gRPC upstream, grpc-go's own health service:
// failing, its status is NOT_SERVING (pushed to Watch streams) and every
// unary call ends with Unavailable, which the pool's breaker counts.
type grpcFlaky struct {
	ph     phases
	srv    *grpc.Server
	health *health.Server
	done   chan struct{} // closed when the status flipper has returned
}

func newGRPCFlaky(ph phases) *grpcFlaky {
	g := &grpcFlaky{ph: ph, health: health.NewServer(), done: make(chan struct{})}
	g.srv = grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if g.ph.failing(time.Now()) {
			return nil, status.Error(codes.Unavailable, "demo: failing phase")
		}
		return h(ctx, req)
	}))
	healthpb.RegisterHealthServer(g.srv, g.health)
	return g
}

// flip keeps the health status in step with the phases until ctx ends.
func (g *grpcFlaky) flip(ctx context.Context) {
	defer close(g.done)
	for {
		now := time.Now()
		st := healthpb.HealthCheckResponse_SERVING
		if g.ph.failing(now) {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		g.health.SetServingStatus("", st)
		next := g.ph.next(now)
		if next.IsZero() {
			<-ctx.Done()
			return
		}
		t := time.NewTimer(time.Until(next) + time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// demoServices are the three upstreams of the demo, each on a free port
// of 127.0.0.1.
type demoServices struct {
	httpAddr, wsAddr, grpcAddr string

	httpSrv *http.Server
	wsSrv   *http.Server
	ws      *wsEcho
	grpc    *grpcFlaky
	cancel  context.CancelFunc
	serving sync.WaitGroup
	stopped sync.Once
}

// startDemoServices listens on three free loopback ports and serves the
// flaky upstreams there. Each is healthy for up and failing for down in
// turn, all healthy at the start: gRPC first fails after up/4, WebSocket
// after up/2, HTTP after up, so that something happens at once and the
// three do not fail together. slow is how long a slow HTTP answer takes.
func startDemoServices(up, down, slow time.Duration) (_ *demoServices, err error) {
	var lns []net.Listener
	defer func() {
		if err != nil {
			for _, ln := range lns {
				_ = ln.Close()
			}
		}
	}()
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		lns = append(lns, ln)
	}
	start := time.Now()
	ph := func(offset time.Duration) phases {
		return phases{start: start, up: up, down: down, offset: offset}
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &demoServices{
		httpAddr: lns[0].Addr().String(),
		wsAddr:   lns[1].Addr().String(),
		grpcAddr: lns[2].Addr().String(),
		ws:       &wsEcho{ph: ph(up / 2), conns: map[*websocket.Conn]struct{}{}},
		grpc:     newGRPCFlaky(ph(up * 3 / 4)),
		cancel:   cancel,
	}
	d.httpSrv = &http.Server{Handler: &flakyHTTP{ph: ph(0), slow: slow}, ReadHeaderTimeout: 5 * time.Second}
	d.wsSrv = &http.Server{Handler: d.ws, ReadHeaderTimeout: 5 * time.Second}
	serve := func(fn func() error) {
		d.serving.Add(1)
		go func() {
			defer d.serving.Done()
			_ = fn() // ErrServerClosed, or a listener error after stop
		}()
	}
	serve(func() error { return d.httpSrv.Serve(lns[0]) })
	serve(func() error { return d.wsSrv.Serve(lns[1]) })
	serve(func() error { return d.grpc.srv.Serve(lns[2]) })
	go d.grpc.flip(ctx)
	return d, nil
}

// stop shuts the three services down, bounded by ctx, and waits for every
// goroutine they started. It is idempotent.
func (d *demoServices) stop(ctx context.Context) error {
	var err error
	d.stopped.Do(func() {
		d.cancel()
		<-d.grpc.done
		d.ws.closeAll()
		err = errors.Join(d.httpSrv.Shutdown(ctx), d.wsSrv.Shutdown(ctx))
		stopped := make(chan struct{})
		go func() { d.grpc.srv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			d.grpc.srv.Stop()
			<-stopped
		}
		d.serving.Wait()
	})
	return err
}
