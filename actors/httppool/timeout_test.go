package httppool

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/pool"
	"github.com/viable-systems/vsm-connections/vsmtest"
)

var once = []fault.Option{fault.MaxAttempts(1)}

// timeoutOf returns the *TimeoutError in err, failing the test without one.
func timeoutOf(t *testing.T, err error) *TimeoutError {
	t.Helper()
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("no *TimeoutError in %v", err)
	}
	return te
}

// A breaker's call_timeout bounds each pool request it guards, though the
// pool's timeout is far longer, and the breaker counts it as a timeout (and
// a failure), as breaker.Call would. The error is a *breaker.TimeoutError
// naming the breaker.
func TestBreakerCallTimeoutBoundsPoolRequests(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	svc.Hang()
	b := breaker.New("api", breaker.Settings{FailureThreshold: 10, CallTimeout: 100 * time.Millisecond})
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}, Timeout: 10 * time.Second, Breaker: b})

	start := time.Now()
	_, err := c.Do(bg(t), Request{URL: "/", Retry: []fault.Option{fault.MaxAttempts(2)}})
	took := time.Since(start)
	var bte *breaker.TimeoutError
	if !errors.Is(err, breaker.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) ||
		!errors.Is(err, fault.ErrExhausted) || !errors.As(err, &bte) || bte.Name != "api" || bte.Timeout != 100*time.Millisecond {
		t.Fatalf("err %v", err)
	}
	if took < 200*time.Millisecond || took > 5*time.Second {
		t.Fatalf("two attempts of 100ms took %v", took)
	}
	if st := b.Stats(); st.Timeouts != 2 || st.Failures != 2 || st.Successes != 0 || st.Calls != 2 {
		t.Fatalf("breaker %+v", st)
	}
	if svc.Requests() != 2 {
		t.Fatalf("%d requests", svc.Requests())
	}

	// A classifier that calls every outcome a success does not hide the
	// breaker's own timeout from it.
	_, err = c.Do(bg(t), Request{URL: "/", Retry: once, Classify: func(int, error) Verdict { return Verdict{} }})
	if !errors.Is(err, breaker.ErrTimeout) {
		t.Fatalf("err %v", err)
	}
	if st := b.Stats(); st.Timeouts != 3 || st.Failures != 3 {
		t.Fatalf("breaker %+v", st)
	}
}

// A request's Timeout longer than the pool's is honoured: the transport's
// response-header timeout (which the config sets to the pool's timeout)
// does not cut it short.
func TestRequestTimeoutLongerThanPoolTimeout(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	svc.Latency(300 * time.Millisecond)
	for _, header := range []time.Duration{0, 100 * time.Millisecond} { // default, and as FromConfig fills it
		c := newClient(t, Config{Endpoints: []string{svc.Addr()}, Timeout: 100 * time.Millisecond, ResponseHeaderTimeout: header})
		resp, err := c.Do(bg(t), Request{URL: "/", Timeout: time.Second, Retry: once})
		if err != nil || resp.Status != 200 {
			t.Fatalf("header timeout %v: %+v %v", header, resp, err)
		}
		// Without the request's Timeout the pool's applies.
		_, err = c.Do(bg(t), Request{URL: "/", Retry: once})
		if te := timeoutOf(t, err); te.Limit != LimitPool || te.Timeout != 100*time.Millisecond {
			t.Fatalf("header timeout %v: %v", header, err)
		}
	}
	// A response-header timeout set below the pool's timeout is the
	// transport's, for every request, and is named so.
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}, Timeout: 5 * time.Second, ResponseHeaderTimeout: 50 * time.Millisecond})
	_, err := c.Do(bg(t), Request{URL: "/", Timeout: 10 * time.Second, Retry: once})
	if te := timeoutOf(t, err); te.Limit != LimitTransport || !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stricter header timeout: %v", err)
	}
}

// Each of the four limits, when it fires first, is the one the error names.
func TestTimeoutNamesTheLimitThatFired(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	svc.Hang()
	short, long := 100*time.Millisecond, 10*time.Second
	for _, tc := range []struct {
		name        string
		pool        time.Duration
		req         time.Duration
		callTimeout time.Duration
		caller      time.Duration // 0: the test's 10s
		want        Limit
		wantD       time.Duration
		errTimeout  bool
		breakerErr  bool
	}{
		{name: "pool", pool: short, want: LimitPool, wantD: short, errTimeout: true},
		{name: "request", pool: long, req: short, want: LimitRequest, wantD: short, errTimeout: true},
		{name: "request below breaker", pool: long, req: short, callTimeout: 2 * short, want: LimitRequest, wantD: short, errTimeout: true},
		{name: "breaker", pool: long, req: 2 * short, callTimeout: short, want: LimitBreaker, wantD: short, errTimeout: true, breakerErr: true},
		{name: "caller", pool: long, callTimeout: 2 * short, caller: short, want: LimitCaller},
		{name: "pool before caller", pool: short, caller: 3 * short, want: LimitPool, wantD: short, errTimeout: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := breaker.New("api", breaker.Settings{FailureThreshold: 100, CallTimeout: tc.callTimeout})
			c := newClient(t, Config{Endpoints: []string{svc.Addr()}, Timeout: tc.pool, Breaker: b})
			ctx := bg(t)
			if tc.caller > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.caller)
				defer cancel()
			}
			_, err := c.Do(ctx, Request{URL: "/", Timeout: tc.req, Retry: once})
			te := timeoutOf(t, err)
			if te.Limit != tc.want || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("limit %v, want %v: %v", te.Limit, tc.want, err)
			}
			if tc.want == LimitCaller {
				// The time the caller's deadline left the attempt.
				if te.Timeout <= 0 || te.Timeout > tc.caller {
					t.Fatalf("caller's time left %v", te.Timeout)
				}
			} else if te.Timeout != tc.wantD {
				t.Fatalf("timeout %v, want %v", te.Timeout, tc.wantD)
			}
			if errors.Is(err, ErrTimeout) != tc.errTimeout || errors.Is(err, breaker.ErrTimeout) != tc.breakerErr {
				t.Fatalf("ErrTimeout %v breaker.ErrTimeout %v: %v", errors.Is(err, ErrTimeout), errors.Is(err, breaker.ErrTimeout), err)
			}
			if tc.breakerErr && te.Breaker != "api" {
				t.Fatalf("breaker %q", te.Breaker)
			}
			wantTimeouts := uint64(0)
			if tc.breakerErr {
				wantTimeouts = 1
			}
			if st := b.Stats(); st.Timeouts != wantTimeouts || st.Failures != 1 {
				t.Fatalf("breaker %+v", st)
			}
		})
	}
}

// connServer is a loopback server that counts the TCP connections it
// accepts and holds each request until released, so a test controls how
// many are in flight at once.
type connServer struct {
	srv *httptest.Server

	mu       sync.Mutex
	conns    int
	inflight int
	peak     int
	arrived  chan struct{}
	release  chan struct{}
}

func newConnServer(t *testing.T) *connServer {
	cs := &connServer{arrived: make(chan struct{}, 64), release: make(chan struct{})}
	cs.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.mu.Lock()
		cs.inflight++
		cs.peak = max(cs.peak, cs.inflight)
		release := cs.release
		cs.mu.Unlock()
		cs.arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		cs.mu.Lock()
		cs.inflight--
		cs.mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	cs.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			cs.mu.Lock()
			cs.conns++
			cs.mu.Unlock()
		}
	}
	cs.srv.Start()
	t.Cleanup(cs.srv.Close)
	return cs
}

func (cs *connServer) counts() (conns, peak int) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.conns, cs.peak
}

// round sends n requests at once and waits until hold of them are held by
// the server together, then lets every one finish.
func (cs *connServer) round(t *testing.T, c *Client, n, hold int) {
	t.Helper()
	ctx := bg(t)
	cs.mu.Lock()
	cs.release, cs.peak = make(chan struct{}), 0
	release := cs.release
	cs.mu.Unlock()
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := c.Do(ctx, Request{URL: "/", Retry: once})
			errs <- err
		}()
	}
	for range hold {
		select {
		case <-cs.arrived:
		case <-ctx.Done():
			t.Fatal("requests did not arrive")
		}
	}
	close(release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for range n - hold {
		<-cs.arrived
	}
}

// A resize keeps the pool's idle connections: after a grow the old ones
// serve first and only the new slots' extra needs are dialled; after a
// shrink no request dials; the slots still bound the connections in use.
func TestResizeKeepsIdleConnections(t *testing.T) {
	cs := newConnServer(t)
	c := newClient(t, Config{Endpoints: []string{cs.srv.Listener.Addr().String()}, Size: 4})
	step := func(name string, n, hold, wantConns, wantPeak int) {
		t.Helper()
		cs.round(t, c, n, hold)
		conns, peak := cs.counts()
		if conns != wantConns || peak != wantPeak || c.Stats().ConnsOpened != uint64(wantConns) {
			t.Fatalf("%s: %d connections (client says %d), %d at once; want %d, %d",
				name, conns, c.Stats().ConnsOpened, peak, wantConns, wantPeak)
		}
	}
	step("4 at size 4", 4, 4, 4, 4)
	if _, err := c.resize(8); err != nil {
		t.Fatal(err)
	}
	step("4 after growing to 8", 4, 4, 4, 4)
	step("8 at size 8", 8, 8, 8, 8)
	if _, err := c.resize(2); err != nil {
		t.Fatal(err)
	}
	step("6 after shrinking to 2", 6, 2, 8, 2)
	if st := c.Stats(); st.ConnsClosed != 0 || st.Size != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// stallServer answers /ok at once, holds /hang before any header, and
// sends the headers and half the body of /stall before holding it: each
// held request ends when the client gives up.
func stallServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			<-r.Context().Done()
		case "/stall":
			w.Header().Set("Content-Length", "10")
			_, _ = w.Write([]byte("12345"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// With no deadline of the caller's, the pool's timeout is kept by a
// deadline on the request's connection, not a context timer: it still
// ends a request that gets no header, and one whose body stalls, on a new
// connection and on a reused one, at the pool's timeout and named so.
func TestPoolTimeoutKeptOnTheConnection(t *testing.T) {
	srv := stallServer(t)
	const limit = 250 * time.Millisecond // room for /ok on a loaded machine
	// A dial cannot outlast the limit: the connection may keep it.
	c := newClient(t, Config{Endpoints: []string{srv.Listener.Addr().String()}, Timeout: limit, DialTimeout: limit})
	ctx := context.Background() // no deadline: the connection keeps the limit
	for _, path := range []string{"/hang", "/stall", "/ok", "/hang", "/ok", "/stall"} {
		start := time.Now()
		resp, err := c.Do(ctx, Request{URL: path, Retry: once})
		took := time.Since(start)
		if path == "/ok" {
			if err != nil || string(resp.Body) != "ok" {
				t.Fatalf("%s: %+v %v", path, resp, err)
			}
			continue
		}
		te := timeoutOf(t, err)
		if te.Limit != LimitPool || te.Timeout != limit || !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: limit %v %v: %v", path, te.Limit, te.Timeout, err)
		}
		if took < limit || took > 5*time.Second {
			t.Fatalf("%s: a %v limit ended after %v", path, limit, took)
		}
	}
	st := c.Stats()
	if st.Requests.Success != 2 || st.Requests.Errors != 4 || st.InUse != 0 {
		t.Fatalf("stats %+v, slots %+v", st.Requests, st.Stats)
	}
}

// A request's Timeout longer than the pool's is kept on the connection
// too, and is the one named.
func TestRequestTimeoutKeptOnTheConnection(t *testing.T) {
	srv := stallServer(t)
	c := newClient(t, Config{Endpoints: []string{srv.Listener.Addr().String()}, Timeout: 50 * time.Millisecond, DialTimeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := c.Do(context.Background(), Request{URL: "/stall", Timeout: 150 * time.Millisecond, Retry: once})
	if te := timeoutOf(t, err); te.Limit != LimitRequest || te.Timeout != 150*time.Millisecond || !errors.Is(err, ErrTimeout) {
		t.Fatalf("limit %v %v: %v", te.Limit, te.Timeout, err)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > 5*time.Second {
		t.Fatalf("a 150ms limit ended after %v", took)
	}
}

// A try's connection deadline does not outlive it: the idle connection is
// still there, and reused, well after the deadline of the request that
// last used it.
func TestConnectionDeadlineClearedAfterTheTry(t *testing.T) {
	srv := stallServer(t)
	const limit = 200 * time.Millisecond
	c := newClient(t, Config{Endpoints: []string{srv.Listener.Addr().String()}, Timeout: limit, DialTimeout: limit})
	if _, err := c.Do(context.Background(), Request{URL: "/ok", Retry: once}); err != nil {
		t.Fatal(err)
	}
	// Let the first request's deadline pass while its connection is idle:
	// were it left set, the transport's read of the idle connection would
	// fail and close it.
	<-time.After(2 * limit)
	if _, err := c.Do(context.Background(), Request{URL: "/ok", Retry: once}); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.ConnsOpened != 1 || st.ConnsClosed != 0 {
		t.Fatalf("%d connections opened, %d closed; want the first one reused", st.ConnsOpened, st.ConnsClosed)
	}
}

// deadlineConn records the deadlines set on it.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (d *deadlineConn) SetDeadline(t time.Time) error { d.set = append(d.set, t); return nil }

// The try that read a body last clears its deadline only if no other
// request has taken the connection since: the transport hands it on as the
// body ends, before that try gets to clear it.
func TestClearDeadlineLeavesTheNextRequestsDeadline(t *testing.T) {
	dc := &deadlineConn{}
	cc := &countedConn{Conn: dc, cc: &connCounts{}}
	first, next := &attempt{}, &attempt{}
	d1, d2 := time.Unix(1, 0), time.Unix(2, 0)
	cc.setDeadline(first, d1)
	cc.setDeadline(next, d2) // taken by the next request
	cc.clearDeadline(first)  // late: must not undo d2
	if want := []time.Time{d1, d2}; !slices.Equal(dc.set, want) {
		t.Fatalf("deadlines %v, want %v", dc.set, want)
	}
	cc.clearDeadline(next)
	if want := []time.Time{d1, d2, {}}; !slices.Equal(dc.set, want) {
		t.Fatalf("deadlines %v, want %v", dc.set, want)
	}
}

// With no deadline of the caller's, a checkout that waits past the pool's
// timeout (the checkout's own timer) names the pool's limit and matches
// pool.ErrTimeout.
func TestCheckoutTimeoutNamesThePool(t *testing.T) {
	cs := newConnServer(t)
	c := newClient(t, Config{Endpoints: []string{cs.srv.Listener.Addr().String()}, Size: 1, Timeout: 100 * time.Millisecond, DialTimeout: 100 * time.Millisecond})
	held := make(chan error, 1)
	go func() {
		_, err := c.Do(context.Background(), Request{URL: "/", Retry: once, Timeout: waitFor})
		held <- err
	}()
	select {
	case <-cs.arrived:
	case <-bg(t).Done():
		t.Fatal("the first request did not arrive")
	}
	_, err := c.Do(context.Background(), Request{URL: "/", Retry: once})
	te := timeoutOf(t, err)
	if te.Limit != LimitPool || te.Timeout != 100*time.Millisecond || !errors.Is(err, pool.ErrTimeout) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("limit %v %v: %v", te.Limit, te.Timeout, err)
	}
	close(cs.release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Timeouts != 1 {
		t.Fatalf("checkout timeouts %d, want 1", st.Timeouts)
	}
}

// A caller's deadline sooner than the pool's timeout bounds the attempt
// with no timer of the pool's: it ends at the caller's deadline, named as
// the caller's, not as the pool's timeout.
func TestCallerDeadlineSoonerEndsTheAttempt(t *testing.T) {
	srv := stallServer(t)
	c := newClient(t, Config{Endpoints: []string{srv.Listener.Addr().String()}, Timeout: 10 * time.Second})
	for _, path := range []string{"/hang", "/stall"} {
		// start before the deadline is set, which counts from WithTimeout.
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := c.Do(ctx, Request{URL: path})
		took := time.Since(start)
		cancel()
		te := timeoutOf(t, err)
		if te.Limit != LimitCaller || errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || te.Timeout <= 0 || te.Timeout > 100*time.Millisecond {
			t.Fatalf("%s: limit %v %v: %v", path, te.Limit, te.Timeout, err)
		}
		if took < 100*time.Millisecond || took > 5*time.Second {
			t.Fatalf("%s: a 100ms deadline ended after %v", path, took)
		}
	}
}

// A trace of the caller's still sees every try once, beside the pool's
// own hook that sets the connection deadline.
func TestCallersTraceSeesEachTryOnce(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	svc.FailNext(2, http.StatusServiceUnavailable)
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}, Timeout: time.Second, DialTimeout: time.Second})
	var got int
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { got++ }})
	resp, err := c.Do(ctx, Request{URL: "/"})
	if err != nil || resp.Attempts != 3 {
		t.Fatalf("%+v %v", resp, err)
	}
	if got != 3 {
		t.Fatalf("the caller's GotConn ran %d times for 3 tries", got)
	}
}
