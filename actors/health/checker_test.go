package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// codeServer answers each request with the next code of its script, then
// 200.
func codeServer(t *testing.T, codes ...int) *httptest.Server {
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		code := http.StatusOK
		if len(codes) > 0 {
			code, codes = codes[0], codes[1:]
		}
		mu.Unlock()
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The thresholds give exactly this sequence: Unknown until 2 successes in
// a row, Healthy through isolated failures (flapping is suppressed), and
// Unhealthy only at the third failure in a row.
func TestThresholdsGiveExactStatusSequence(t *testing.T) {
	srv := codeServer(t, 200, 500, 200, 200, 503, 200, 503, 503, 503, 200, 200)
	p := &HTTPProbe{URL: srv.URL, ExpectedStatus: []int{200, 204}}
	h := start(t, Spec{Name: "api", Kind: KindHTTP, Target: srv.URL, Probe: p,
		HealthyThreshold: 2, UnhealthyThreshold: 3, Jitter: -1}, Env{})
	h.clock.nextDelay(t) // initial
	got := h.statuses(t, 11)
	want := []string{
		"unknown", "unknown", "unknown", "healthy", // 200 500 200 200
		"healthy", "healthy", "healthy", "healthy", // 503 200 503 503: flapping
		"unhealthy", "unhealthy", "healthy", // 503 200 200
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("statuses\n got %v\nwant %v", got, want)
	}
	if c := changes(h.rec.changes); !reflect.DeepEqual(c, []string{"unknown>healthy", "healthy>unhealthy", "unhealthy>healthy"}) {
		t.Fatalf("transitions %v", c)
	}
	s := h.c.Status()
	if s.Status != Healthy || s.Successes != 6 || s.Failures != 5 || s.ConsecutiveSuccesses != 2 || s.ConsecutiveFailures != 0 {
		t.Fatalf("snapshot %+v", s)
	}
	if len(s.Recent) != RecentResults || s.Latency.Count != 11 {
		t.Fatalf("recent %d, histogram count %d", len(s.Recent), s.Latency.Count)
	}
	var se *StatusError
	if err := s.Recent[len(s.Recent)-3].Err; !errors.As(err, &se) || se.Got != 503 || !errors.Is(err, ErrStatus) {
		t.Fatalf("third last result error %v", err)
	}
}

func TestHTTPExpectedStatusAndBodyMatch(t *testing.T) {
	srv := codeServer(t, 204, 200, 200)
	cases := []struct {
		name string
		p    *HTTPProbe
		want error
	}{
		{"204 not in default 2xx? it is", &HTTPProbe{URL: srv.URL}, nil},
		{"200 not listed", &HTTPProbe{URL: srv.URL, ExpectedStatus: []int{204}}, ErrStatus},
		{"body substring", &HTTPProbe{URL: srv.URL, BodyContains: `"ok"`}, nil},
		{"body substring missing", &HTTPProbe{URL: srv.URL, BodyContains: "down"}, ErrBody},
	}
	for _, c := range cases {
		err := c.p.Probe(context.Background())
		_ = c.p.Close()
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// Delays with an injected rand: the first probe waits rand × InitialJitter,
// each later one Interval × (1 + Jitter×(2×rand−1)), so within ±Jitter.
func TestJitterBounds(t *testing.T) {
	h := start(t, Spec{Name: "j", Probe: scripted(), Interval: 10 * time.Second, Jitter: 0.2, InitialJitter: 4 * time.Second},
		Env{Rand: fixedRand(0.25, 0, 0.999999, 0.5)})
	if d := h.clock.nextDelay(t); d != time.Second {
		t.Fatalf("initial delay %s, want 1s (0.25 × 4s)", d)
	}
	var got []time.Duration
	for range 3 {
		_, d := h.step(t)
		got = append(got, d)
	}
	if got[0] != 8*time.Second || got[2] != 10*time.Second {
		t.Fatalf("delays %v, want 8s, <12s, 10s", got)
	}
	if got[1] <= 11990*time.Millisecond || got[1] >= 12*time.Second {
		t.Fatalf("delay at rand→1 is %s, want just under 12s", got[1])
	}
}

// Default jitter: 10% of Interval both for the initial spread and for each
// interval; a negative Jitter disables both.
func TestJitterDefaults(t *testing.T) {
	s, err := Spec{Name: "d", Probe: scripted(), Interval: 10 * time.Second}.normalized()
	if err != nil || s.Jitter != 0.1 || s.InitialJitter != time.Second || s.UnhealthyInterval != 10*time.Second ||
		s.Timeout != DefaultTimeout || s.HealthyThreshold != 1 || s.UnhealthyThreshold != 3 {
		t.Fatalf("%+v %v", s, err)
	}
	s, _ = Spec{Name: "d", Probe: scripted(), Jitter: -1}.normalized()
	if s.Jitter != 0 || s.InitialJitter != 0 {
		t.Fatalf("%+v", s)
	}
}

func TestUnhealthyIntervalWhileUnhealthy(t *testing.T) {
	h := start(t, Spec{Name: "u", Probe: scripted(errBoom, errBoom, nil), Interval: 10 * time.Second,
		UnhealthyInterval: 2 * time.Second, UnhealthyThreshold: 2, Jitter: -1}, Env{})
	h.clock.nextDelay(t)
	var got []string
	for range 4 {
		r, d := h.step(t)
		got = append(got, r.Status+" "+d.String())
	}
	want := []string{"unknown 10s", "unhealthy 2s", "healthy 10s", "healthy 10s"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// A server that hangs: the probe ends at Timeout with an error matching
// ErrTimeout and context.DeadlineExceeded, and the check turns Unhealthy.
func TestTimeoutHonoured(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	h := start(t, Spec{Name: "slow", Kind: KindHTTP, Probe: &HTTPProbe{URL: srv.URL}, Timeout: 50 * time.Millisecond,
		UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	begin := time.Now()
	r, _ := h.step(t)
	if el := time.Since(begin); el > 5*time.Second {
		t.Fatalf("the probe took %s", el)
	}
	s := h.c.Status()
	last, _ := s.Last()
	if r.Status != "unhealthy" || r.Healthy || !errors.Is(last.Err, ErrTimeout) || !errors.Is(last.Err, context.DeadlineExceeded) {
		t.Fatalf("result %+v, err %v", r, last.Err)
	}
	if !strings.Contains(r.Err, "timed out after 50ms") {
		t.Fatalf("event err %q", r.Err)
	}
}

// A custom check that ignores its context is abandoned at the timeout.
func TestTimeoutHonouredWhenProbeIgnoresContext(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	h := start(t, Spec{Name: "stuck", Probe: ProbeFunc(func(context.Context) error { <-block; return nil }),
		Timeout: 20 * time.Millisecond, UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	r, _ := h.step(t)
	if r.Status != "unhealthy" || !strings.Contains(r.Err, ErrTimeout.Error()) {
		t.Fatalf("%+v", r)
	}
}

// Critical alerts: one Critical per turn to Unhealthy, one Info per
// recovery, nothing while the status holds, nothing for Unknown→Healthy.
func TestCriticalAlertsOncePerTransition(t *testing.T) {
	h := start(t, Spec{Name: "db", Probe: scripted(nil, errBoom, errBoom, errBoom, errBoom, nil, nil, errBoom, errBoom),
		UnhealthyThreshold: 2, Critical: true}, Env{Path: "s4"})
	h.clock.nextDelay(t)
	got := h.statuses(t, 10)
	want := []string{"healthy", "healthy", "unhealthy", "unhealthy", "unhealthy", "healthy", "healthy", "healthy", "unhealthy", "healthy"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("statuses %v", got)
	}
	alerts := drain(h.rec.alerts)
	if !reflect.DeepEqual(alerts, []string{"critical s4/db", "info s4/db", "critical s4/db", "info s4/db"}) {
		t.Fatalf("alerts %v", alerts)
	}
}

func TestNonCriticalRaisesNothing(t *testing.T) {
	h := start(t, Spec{Name: "x", Probe: scripted(errBoom), UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	if got := h.statuses(t, 2); !reflect.DeepEqual(got, []string{"unhealthy", "healthy"}) {
		t.Fatalf("%v", got)
	}
	if a := drain(h.rec.alerts); len(a) != 0 {
		t.Fatalf("alerts %v", a)
	}
}

// A panicking custom check is a failure matching ErrPanicked; the actor is
// not restarted (the panic never reaches it) and goes on probing.
func TestCustomCheckPanicIsContained(t *testing.T) {
	calls := 0
	mw, starts := actortest.Crasher(4)
	h := start(t, Spec{Name: "p", Probe: ProbeFunc(func(context.Context) error {
		calls++
		if calls == 1 {
			panic("check bug")
		}
		return nil
	}), UnhealthyThreshold: 1}, Env{}, mw)
	if n := <-starts; n != 1 {
		t.Fatalf("starts %d", n)
	}
	h.clock.nextDelay(t)
	r, _ := h.step(t)
	last, _ := h.c.Status().Last()
	if r.Status != "unhealthy" || !errors.Is(last.Err, ErrPanicked) || !strings.Contains(r.Err, "check bug") {
		t.Fatalf("%+v %v", r, last.Err)
	}
	if r, _ := h.step(t); r.Status != "healthy" {
		t.Fatalf("after the panic: %+v", r)
	}
	select {
	case n := <-starts:
		t.Fatalf("the actor restarted (start %d)", n)
	default:
	}
}

// A restart (the actor panics) keeps the status, the counters and the
// schedule: the next instance arms the next probe at once.
func TestRestartKeepsStatus(t *testing.T) {
	mw, starts := actortest.Crasher(4)
	h := start(t, Spec{Name: "r", Probe: scripted(), Jitter: -1, Interval: 7 * time.Second}, Env{}, mw)
	<-starts
	h.clock.nextDelay(t)
	h.step(t)
	h.step(t)
	h.sys.Root.Send(h.pid, &actortest.Crash{})
	if n := <-starts; n != 2 {
		t.Fatalf("starts %d", n)
	}
	if d := h.clock.nextDelay(t); d != 7*time.Second {
		t.Fatalf("delay after restart %s", d)
	}
	s := h.c.Status()
	if s.Status != Healthy || s.Successes != 2 || h.c.PID() == nil {
		t.Fatalf("after restart %+v", s)
	}
	if r, _ := h.step(t); r.Status != "healthy" || h.c.Status().Successes != 3 {
		t.Fatalf("%+v", r)
	}
}

// Stopping the actor cancels the probe in flight.
func TestProbeInFlightCancelledOnStop(t *testing.T) {
	running, cancelled := make(chan struct{}), make(chan error, 1)
	h := start(t, Spec{Name: "c", Probe: ProbeFunc(func(ctx context.Context) error {
		close(running)
		<-ctx.Done()
		cancelled <- ctx.Err()
		return ctx.Err()
	}), Timeout: time.Hour}, Env{})
	h.clock.nextDelay(t)
	h.clock.fire(t)
	<-running
	if err := h.sys.Root.StopFuture(h.pid).Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("probe ended with %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("the probe was not cancelled")
	}
	if h.c.PID() != nil {
		t.Fatal("PID still published after stop")
	}
}

// Latency comes from the clock around the probe and lands in its bucket.
func TestLatencyHistogram(t *testing.T) {
	var h *harness
	h = start(t, Spec{Name: "l", Probe: ProbeFunc(func(context.Context) error {
		h.clock.Advance(30 * time.Millisecond)
		return nil
	})}, Env{})
	h.clock.nextDelay(t)
	r, _ := h.step(t)
	h.step(t)
	s := h.c.Status()
	if r.Latency != 30*time.Millisecond || s.Latency.Count != 2 || s.Latency.Sum != 60*time.Millisecond {
		t.Fatalf("latency %s, histogram %+v", r.Latency, s.Latency)
	}
	want := make([]uint64, len(DefaultBuckets)+1)
	want[4] = 2 // (25ms, 50ms]
	if !reflect.DeepEqual(s.Latency.Counts, want) {
		t.Fatalf("counts %v", s.Latency.Counts)
	}
}

// CheckNow probes at once, replies with the result, and re-arms the
// schedule from it; GetStatus answers with the snapshot.
func TestMessagesCheckNowAndStatus(t *testing.T) {
	h := start(t, Spec{Name: "m", Probe: scripted(errBoom), Jitter: -1, Interval: 5 * time.Second, UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	r, err := RunCheck(ctx, h.sys.Root, h.pid)
	if err != nil || r.Healthy || !errors.Is(r.Err, errBoom) || r.Status != Unhealthy {
		t.Fatalf("%+v %v", r, err)
	}
	if d := h.clock.nextDelay(t); d != 5*time.Second {
		t.Fatalf("re-armed %s", d)
	}
	s, err := StatusOf(ctx, h.sys.Root, h.pid)
	if err != nil || s.Status != Unhealthy || s.Failures != 1 || s.Name != "m" {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := RunCheck(ctx, h.sys.Root, h.sys.NewLocalPID("nobody")); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("missing actor: %v", err)
	}
}

// The snapshot's JSON names statuses and kinds, and the error as text.
func TestSnapshotJSON(t *testing.T) {
	h := start(t, Spec{Name: "js", Kind: KindTCP, Target: "h:1", Probe: scripted(errBoom), UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	h.step(t)
	b, err := json.Marshal(h.c.Status())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"js"`, `"kind":"tcp"`, `"target":"h:1"`, `"status":"unhealthy"`,
		`"error":"boom"`, `"failures":1`, `"consecutive_failures":1`, `"counts":[`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %s in %s", want, b)
		}
	}
	ch := drain(h.rec.changes)
	if len(ch) != 1 || ch[0].Check != "js" || ch[0].Target != "h:1" || ch[0].From != "unknown" || ch[0].To != "unhealthy" || ch[0].Reason != "boom" {
		t.Fatalf("changes %+v", ch)
	}
}

// Readers on other goroutines see whole snapshots while the actor
// publishes (run with -race).
func TestStatusReadsConcurrently(t *testing.T) {
	h := start(t, Spec{Name: "c", Probe: scripted(errBoom, nil, errBoom, nil), UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := h.c.Status()
				if uint64(len(s.Recent)) != s.Successes+s.Failures || s.Latency.Count != s.Successes+s.Failures {
					t.Errorf("torn snapshot %+v", s)
					return
				}
			}
		}()
	}
	h.statuses(t, 6)
	close(stop)
	wg.Wait()
}

// A Check waiting on a probe when the checker stops gets ErrNotRunning at
// once, not its own deadline.
func TestCheckDuringStopGetsErrNotRunning(t *testing.T) {
	running := make(chan struct{})
	h := start(t, Spec{Name: "s", Probe: ProbeFunc(func(ctx context.Context) error {
		close(running)
		<-ctx.Done()
		return ctx.Err()
	}), Timeout: time.Hour}, Env{})
	h.clock.nextDelay(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got := make(chan error, 1)
	go func() {
		_, err := RunCheck(ctx, h.sys.Root, h.pid)
		got <- err
	}()
	<-running
	if err := h.sys.Root.StopFuture(h.pid).Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if !errors.Is(err, ErrNotRunning) || ctx.Err() != nil {
			t.Fatalf("Check returned %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Check still waiting after the checker stopped")
	}
}

// A tick queued by an incarnation that then crashed does not make the next
// one probe early: only its own timer counts.
func TestStaleTickAfterRestartIsDropped(t *testing.T) {
	mw, starts := actortest.Crasher(4)
	probes := make(chan struct{}, 8)
	h := start(t, Spec{Name: "g", Probe: ProbeFunc(func(context.Context) error { probes <- struct{}{}; return nil }),
		Jitter: -1, Interval: time.Minute}, Env{}, mw)
	<-starts
	h.clock.nextDelay(t)
	// Crash, and queue the old timer's tick behind the crash.
	h.sys.Root.Send(h.pid, &actortest.Crash{})
	h.sys.Root.Send(h.pid, &tick{gen: 1})
	<-starts
	h.clock.nextDelay(t) // the new incarnation's timer
	if _, err := StatusOf(context.Background(), h.sys.Root, h.pid); err != nil {
		t.Fatal(err) // a barrier: the stale tick has been handled
	}
	if n := len(probes); n != 0 {
		t.Fatalf("%d probes ran early", n)
	}
}
