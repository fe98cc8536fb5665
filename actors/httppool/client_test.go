package httppool

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/balancer"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/pool"
	"github.com/viable-systems/vsm-connections/vsmtest"
)

func TestGetPostJSON(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	if err := svc.RespondJSON("GET /users", 200, []string{"ada", "bob"}); err != nil {
		t.Fatal(err)
	}
	svc.RespondTo("POST /users", 201, `{"id":7}`, http.Header{"Content-Type": {"application/json"}})
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}})
	ctx := bg(t)

	resp, err := c.Do(ctx, Request{URL: "/users?limit=2"})
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	if err := resp.JSON(&users); err != nil || len(users) != 2 || users[1] != "bob" {
		t.Fatalf("users %v %v", users, err)
	}
	if resp.Status != 200 || resp.Endpoint != svc.Addr() || resp.Attempts != 1 {
		t.Fatalf("resp %+v", resp)
	}
	last, _ := svc.LastRequest()
	if last.Path != "/users" || last.RawQuery != "limit=2" {
		t.Fatalf("sent %+v", last)
	}

	resp, err = c.Do(ctx, Request{Method: "POST", URL: svc.URL() + "/users", Body: []byte(`{"name":"cy"}`),
		Header: http.Header{"Content-Type": {"application/json"}}})
	if err != nil || resp.Status != 201 {
		t.Fatalf("post %+v %v", resp, err)
	}
	var created struct{ ID int }
	if err := DecodeJSON(resp, &created); err != nil || created.ID != 7 {
		t.Fatalf("created %+v %v", created, err)
	}
	last, _ = svc.LastRequest()
	if string(last.Body) != `{"name":"cy"}` || last.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("sent %+v", last)
	}
	st := c.Stats()
	if st.Requests.Success != 2 || st.Checkouts != 2 || st.InUse != 0 || st.Duration.Count != 2 || st.ConnsOpened != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRefusedIsRetriedElsewhereThenFails(t *testing.T) {
	dead := vsmtest.RefusedAddr(t)
	c := newClient(t, Config{Endpoints: []string{dead}})
	_, err := c.Do(bg(t), Request{URL: "/"})
	var re *RequestError
	if !errors.Is(err, fault.ErrExhausted) || !errors.As(err, &re) || re.Endpoint != dead {
		t.Fatalf("err %v", err)
	}
	if st := c.Stats(); st.Requests.Errors != 3 || st.Endpoints[0].ConsecutiveFailures != 3 {
		t.Fatalf("stats %+v", st)
	}

	// With a live endpoint beside it, the retry goes there.
	svc := vsmtest.NewMockService(t)
	c2 := newClient(t, Config{Endpoints: []string{dead, svc.Addr()}})
	for i := 0; i < 4; i++ {
		resp, err := c2.Do(bg(t), Request{URL: "/"})
		if err != nil || resp.Endpoint != svc.Addr() {
			t.Fatalf("call %d: %+v %v", i, resp, err)
		}
	}
}

func TestResetMidResponse(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}})
	once := []fault.Option{fault.MaxAttempts(1)}

	svc.ResetNext(1)
	if _, err := c.Do(bg(t), Request{URL: "/", Retry: once}); err == nil {
		t.Fatal("reset during the header: no error")
	}
	svc.ResetBodyNext(1)
	resp, err := c.Do(bg(t), Request{URL: "/", Retry: once})
	var re *RequestError
	if !errors.As(err, &re) || resp != nil {
		t.Fatalf("reset during the body: %+v %v", resp, err)
	}
	// Retried by default (GET): the next attempt succeeds.
	svc.ResetBodyNext(1)
	resp, err = c.Do(bg(t), Request{URL: "/"})
	if err != nil || resp.Attempts != 2 {
		t.Fatalf("retried: %+v %v", resp, err)
	}
	if st := c.Stats(); st.Requests.Errors != 3 || st.Requests.Success != 1 {
		t.Fatalf("stats %+v", st.Requests)
	}
}

func TestHangTimesOutAndBreakerCountsIt(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	svc.Hang()
	b := breaker.New("api", breaker.Settings{FailureThreshold: 2, RecoveryTimeout: time.Hour})
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}, Timeout: 100 * time.Millisecond, Breaker: b})
	once := []fault.Option{fault.MaxAttempts(1)}
	for i := 0; i < 2; i++ {
		start := time.Now()
		_, err := c.Do(bg(t), Request{URL: "/", Retry: once})
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call %d: %v", i, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("call %d returned after %v", i, d)
		}
	}
	if st := b.Stats(); st.State != breaker.Open || st.Failures != 2 {
		t.Fatalf("breaker %+v", st)
	}
	n := svc.Requests()
	if _, err := c.Do(bg(t), Request{URL: "/"}); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("open: %v", err)
	}
	if svc.Requests() != n {
		t.Fatal("an open breaker let a request through")
	}
}

func TestServerErrorBurstOpensThenProbeCloses(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	b := breaker.New("api", breaker.Settings{FailureThreshold: 3, RecoveryTimeout: time.Minute, Clock: clk})
	var mu sync.Mutex
	var states []string
	b.Subscribe(func(tr breaker.Transition) {
		mu.Lock()
		states = append(states, tr.To.String())
		mu.Unlock()
	})
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}, Breaker: b})
	once := []fault.Option{fault.MaxAttempts(1)}
	svc.FailNext(100, 503)
	for i := 0; i < 3; i++ {
		_, err := c.Do(bg(t), Request{URL: "/", Retry: once})
		var se *StatusError
		if !errors.As(err, &se) || se.Response.Status != 503 || !errors.Is(err, ErrStatus) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if _, err := c.Do(bg(t), Request{URL: "/", Retry: once}); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("want open: %v", err)
	}
	if svc.Requests() != 3 {
		t.Fatalf("%d requests reached the service", svc.Requests())
	}
	svc.Heal()
	clk.advance(time.Minute)
	resp, err := c.Do(bg(t), Request{URL: "/", Retry: once})
	if err != nil || resp.Status != 200 {
		t.Fatalf("probe: %+v %v", resp, err)
	}
	mu.Lock()
	got := strings.Join(states, ",")
	mu.Unlock()
	if got != "open,half_open,closed" {
		t.Fatalf("transitions %s", got)
	}
}

func TestClientErrorsDoNotOpenBreaker(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	svc.Respond(404, "no", nil)
	b := breaker.New("api", breaker.Settings{FailureThreshold: 2, RecoveryTimeout: time.Hour})
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}, Breaker: b,
		Balancer: balancer.Config{ConsecutiveFailures: 2}})
	for i := 0; i < 10; i++ {
		resp, err := c.Do(bg(t), Request{URL: "/missing"})
		if err != nil || resp.Status != 404 || string(resp.Body) != "no" || resp.Attempts != 1 {
			t.Fatalf("call %d: %+v %v", i, resp, err)
		}
	}
	if st := b.Stats(); st.State != breaker.Closed || st.Successes != 10 || st.Failures != 0 {
		t.Fatalf("breaker %+v", st)
	}
	if st := c.Stats(); st.Requests.ClientError != 10 || st.Endpoints[0].Failures != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	for _, tc := range []struct {
		status  int
		failure bool
	}{{429, false}, {503, true}} {
		svc := vsmtest.NewMockService(t)
		svc.FailNextWith(2, vsmtest.Response{Status: tc.status, Header: http.Header{"Retry-After": {"7"}}})
		b := breaker.New("api", breaker.Settings{FailureThreshold: 10})
		c := newClient(t, Config{Endpoints: []string{svc.Addr()}, Breaker: b})
		clk := &fakeSleep{}
		// The pool's MaxDelay is 2ms: honouring 7s is an opt-in.
		resp, err := c.Do(bg(t), Request{URL: "/", Retry: []fault.Option{fault.WithClock(clk), fault.MaxAttempts(3),
			fault.MaxRetryAfter(time.Minute)}})
		if err != nil || resp.Status != 200 || resp.Attempts != 3 {
			t.Fatalf("%d: %+v %v", tc.status, resp, err)
		}
		if got := clk.got(); len(got) != 2 || got[0] != 7*time.Second || got[1] != 7*time.Second {
			t.Fatalf("%d: delays %v", tc.status, got)
		}
		want := uint64(0)
		if tc.failure {
			want = 2
		}
		if st := b.Stats(); st.Failures != want {
			t.Fatalf("%d: breaker failures %d, want %d", tc.status, st.Failures, want)
		}
	}
	if d := retryAfter("Wed, 21 Oct 2015 07:28:10 GMT", time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)); d != 10*time.Second {
		t.Fatalf("date: %v", d)
	}
	for _, v := range []string{"", "0", "-3", "soon"} {
		if d := retryAfter(v, time.Now()); d != 0 {
			t.Fatalf("%q: %v", v, d)
		}
	}
}

// A hostile Retry-After of a day waits the retry's MaxDelay, not a day, on
// the real clock: the call succeeds at its third attempt, well within its
// deadline (before, the day-long delay passed the deadline and the call
// gave up after one attempt).
func TestHostileRetryAfterCappedAtMaxDelay(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	svc.FailNextWith(2, vsmtest.Response{Status: 503, Header: http.Header{"Retry-After": {"86400"}}})
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}})
	var mu sync.Mutex
	var delays []time.Duration
	onRetry := fault.OnRetry(func(_ int, _ error, d time.Duration) {
		mu.Lock()
		delays = append(delays, d)
		mu.Unlock()
	})
	resp, err := c.Do(bg(t), Request{URL: "/", Retry: []fault.Option{fault.MaxAttempts(3), onRetry}})
	if err != nil || resp.Status != 200 || resp.Attempts != 3 {
		t.Fatalf("%+v %v", resp, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []time.Duration{2 * time.Millisecond, 2 * time.Millisecond}; !slices.Equal(delays, want) {
		t.Fatalf("delays %v, want %v", delays, want)
	}
}

func TestOversizeBody(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}, MaxResponseBody: 1000})
	svc.OversizeBody(5000) // streamed, no Content-Length
	resp, err := c.Do(bg(t), Request{URL: "/"})
	if !errors.Is(err, ErrBodyTooLarge) || resp != nil {
		t.Fatalf("streamed: %+v %v", resp, err)
	}
	svc.Heal()
	svc.Respond(200, strings.Repeat("x", 1001), nil) // announced
	if _, err := c.Do(bg(t), Request{URL: "/"}); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("announced: %v", err)
	}
	svc.Respond(200, strings.Repeat("x", 1000), nil) // exactly the limit
	if resp, err := c.Do(bg(t), Request{URL: "/"}); err != nil || len(resp.Body) != 1000 {
		t.Fatalf("at the limit: %v", err)
	}
	if svc.Requests() != 3 {
		t.Fatalf("an oversize body was retried: %d requests", svc.Requests())
	}
	// The default limit is 10 MiB.
	if got := newClient(t, Config{}).Config().MaxResponseBody; got != 10<<20 {
		t.Fatal(got)
	}
}

// 64 requests are in flight (8 running, 56 queued for a slot) while the
// pool grows and shrinks: every one succeeds, none is lost.
func TestResizeWithRequestsInFlight(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	svc.Latency(30 * time.Millisecond)
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}, Size: 8})
	ctx := bg(t)
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		go func() {
			resp, err := c.Do(ctx, Request{URL: "/", Retry: []fault.Option{fault.MaxAttempts(1)}})
			if err == nil && resp.Status != 200 {
				err = errors.New(http.StatusText(resp.Status))
			}
			errs <- err
		}()
	}
	if err := svc.WaitRequests(ctx, 8); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{32, 2, 16, 4} {
		if _, err := c.resize(n); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 64; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("request lost: %v", err)
		}
	}
	st := c.Stats()
	if st.Size != 4 || st.InUse != 0 || st.Checkouts != 64 || st.Requests.Success != 64 || st.Timeouts != 0 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := c.resize(0); !errors.Is(err, pool.ErrInvalidSize) {
		t.Fatal(err)
	}
}

// Mixed faults from many callers: each call returns, with a response or an
// error, before its own deadline (plus scheduling slack).
func TestNothingHangsPastItsDeadline(t *testing.T) {
	hang := vsmtest.NewMockService(t)
	hang.Hang()
	slow := vsmtest.NewMockService(t)
	slow.Latency(time.Second)
	ok := vsmtest.NewMockService(t)
	c := newClient(t, Config{Endpoints: []string{hang.Addr(), slow.Addr(), ok.Addr(), vsmtest.RefusedAddr(t)},
		Timeout: 10 * time.Second, Size: 4, Balancer: balancer.Config{ConsecutiveFailures: -1}})
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := time.Duration(50+i*5) * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			start := time.Now()
			resp, err := c.Do(ctx, Request{URL: "/"})
			if (resp == nil) == (err == nil) {
				t.Errorf("call %d: resp %v and err %v", i, resp, err)
			}
			if late := time.Since(start) - d; late > time.Second {
				t.Errorf("call %d returned %v after its deadline", i, late)
			}
		}()
	}
	wg.Wait()
	if st := c.Stats(); st.InUse != 0 {
		t.Fatalf("slots leaked: %+v", st)
	}
}

func TestBadRequests(t *testing.T) {
	c := newClient(t, Config{})
	for _, u := range []string{"/relative", "ftp://x/", "//host/x", "%zz"} {
		if _, err := c.Do(bg(t), Request{URL: u}); !errors.Is(err, ErrBadRequest) {
			t.Fatalf("%q: %v", u, err)
		}
	}
	if _, err := c.Do(bg(t), Request{URL: "http://127.0.0.1:1/", Breaker: "x"}); !errors.Is(err, ErrNoBreaker) {
		t.Fatal(err)
	}
	_ = c.Close()
	if _, err := c.Do(bg(t), Request{URL: "http://127.0.0.1:1/"}); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if _, err := New(Config{Scheme: "ftp"}); err == nil {
		t.Fatal("ftp scheme accepted")
	}
}

// Per-attempt events are opt-in: with RequestEvents off, a subscriber on
// the stream (the dashboard, say) gets none, though the stats count every
// attempt; a breaker named by the request replaces the pool's.
func TestRequestEventsOptInAndBreakerOverride(t *testing.T) {
	sys := actortest.NewSystem(t)
	got := make(chan any, 16)
	sub := sys.EventStream.Subscribe(func(m any) { got <- m })
	t.Cleanup(func() { sys.EventStream.Unsubscribe(sub) })
	svc := vsmtest.NewMockService(t)
	own := breaker.New("own", breaker.Settings{})
	other := breaker.New("other", breaker.Settings{})
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}, Breaker: own,
		Breakers: func(name string) (*breaker.Breaker, bool) { return other, name == "other" },
		Events:   sys.EventStream})
	if _, err := c.Do(bg(t), Request{URL: "/"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(bg(t), Request{URL: "/", Breaker: "other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(bg(t), Request{URL: "/", Breaker: "third"}); !errors.Is(err, ErrNoBreaker) {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("%d events published with RequestEvents off", len(got))
	}
	if st := c.Stats(); st.Requests.Success != 2 || st.Calls.Total != 2 || st.Calls.Succeeded != 2 {
		t.Fatalf("stats %+v %+v, want 2 successful attempts and calls", st.Requests, st.Calls)
	}
	if own.Stats().Successes != 1 || other.Stats().Successes != 1 {
		t.Fatalf("own %+v other %+v", own.Stats(), other.Stats())
	}
}

// The pool actor is the only writer of the size: a *Client handed out by
// the node (Pool.Client) must offer no way to resize past it.
func TestClientHasNoExportedResize(t *testing.T) {
	typ := reflect.TypeOf((*Client)(nil))
	for i := range typ.NumMethod() {
		if name := typ.Method(i).Name; strings.Contains(strings.ToLower(name), "resize") {
			t.Fatalf("*Client exports %s: resizes must go through the pool actor (*ResizePool)", name)
		}
	}
}

// The whole stack (slots, balancer, breaker, retry, stats, the pool's
// timeout) allocates no more per request than a bare net/http client
// against the same server: no context timer, URL copy, body-reader
// wrapper or per-attempt event check of its own. Counts include the
// server's, the same on both sides.
func TestDoAllocatesNoMoreThanBareNetHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	bare := func() {
		resp, err := hc.Get(srv.URL + "/ping")
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, Config{Endpoints: []string{srv.Listener.Addr().String()}, Breaker: breaker.New("b", breaker.Settings{})})
	ctx := context.Background()
	vsm := func() {
		if _, err := c.Do(ctx, Request{URL: "/ping"}); err != nil {
			t.Fatal(err)
		}
	}
	bare()
	vsm() // connections open
	b, v := testing.AllocsPerRun(200, bare), testing.AllocsPerRun(200, vsm)
	t.Logf("allocations per request: bare net/http %.1f, the pool %.1f", b, v)
	if v > b {
		t.Fatalf("the pool allocates %.1f per request, bare net/http %.1f", v, b)
	}
}

// A reply with no body (HEAD, 204, 304) is read as empty whatever its
// Content-Length announces: HEAD of a resource above max_response_body
// succeeds, and no buffer of the announced size is made.
func TestHeadReplyHasNoBodyToRead(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "20971520") // 20 MiB, as GET would send
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, Config{Endpoints: []string{srv.Listener.Addr().String()}, MaxResponseBody: 1 << 20})
	resp, err := c.Do(bg(t), Request{Method: http.MethodHead, URL: "/big"})
	if err != nil || resp.Status != 200 || len(resp.Body) != 0 || cap(resp.Body) != 0 || resp.Header.Get("Content-Length") != "20971520" {
		t.Fatalf("HEAD: %+v %v", resp, err)
	}
}
