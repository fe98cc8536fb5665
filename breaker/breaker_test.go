package breaker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a TimerClock moved by hand: Advance runs, in order of their
// instants and outside its lock, the AfterFunc calls that fall due. It
// counts its Now calls, so a test can see that a path does not read it.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	timers []*fakeTimer
	reads  atomic.Int64
}

type fakeTimer struct {
	c  *fakeClock
	at time.Time
	f  func()
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, x := range t.c.timers {
		if x == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			return true
		}
	}
	return false
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.reads.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.t.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

// pending is how many timers have neither fired nor been stopped.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	now := c.t
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.at.After(now) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		c.mu.Unlock()
		if next == nil || !next.Stop() {
			if next == nil {
				return
			}
			continue // stopped meanwhile
		}
		next.f()
	}
}

// nowClock is a Clock without timers: the breaker reads it to see whether
// a timed phase is over (the path a user's own plain Clock takes).
type nowClock struct{ c *fakeClock }

func (c nowClock) Now() time.Time { return c.c.Now() }

// recorder collects transitions as "from>to:reason".
type recorder struct {
	mu  sync.Mutex
	got []Transition
}

func (r *recorder) on(t Transition) {
	r.mu.Lock()
	r.got = append(r.got, t)
	r.mu.Unlock()
}

func (r *recorder) seq() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []string{}
	for _, t := range r.got {
		out = append(out, fmt.Sprintf("%s>%s:%s", t.From, t.To, t.Reason))
	}
	return out
}

func (r *recorder) last() Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[len(r.got)-1]
}

func wantSeq(t *testing.T, r *recorder, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := r.seq(); !reflect.DeepEqual(got, want) {
		t.Fatalf("transitions = %q, want %q", got, want)
	}
}

var errBoom = errors.New("boom")

func fail(context.Context) error { return errBoom }
func ok(context.Context) error   { return nil }

func newTest(t *testing.T, s Settings) (*Breaker, *fakeClock, *recorder) {
	t.Helper()
	clk := newFakeClock()
	rec := &recorder{}
	s.Clock = clk
	s.OnTransition = rec.on
	return New("test", s), clk, rec
}

func TestConsecutiveOpensAtThresholdAndRejects(t *testing.T) {
	b, _, rec := newTest(t, Settings{FailureThreshold: 3})
	ctx := context.Background()
	for range 2 {
		if err := b.Call(ctx, fail); !errors.Is(err, errBoom) {
			t.Fatalf("err = %v", err)
		}
	}
	if err := b.Call(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.ConsecutiveFailures != 0 || st.State != Closed {
		t.Fatalf("after success: %+v", st)
	}
	for range 2 {
		b.Call(ctx, fail)
	}
	if b.State() != Closed || b.Stats().ConsecutiveFailures != 2 {
		t.Fatalf("state %v consec %d", b.State(), b.Stats().ConsecutiveFailures)
	}
	wantSeq(t, rec)
	b.Call(ctx, fail)
	if b.State() != Open {
		t.Fatalf("state = %v, want open", b.State())
	}
	wantSeq(t, rec, "closed>open:failure_threshold")

	called := 0
	err := b.Call(ctx, func(context.Context) error { called++; return nil })
	if called != 0 {
		t.Fatal("fn ran while open")
	}
	var rej *RejectedError
	if !errors.Is(err, ErrOpen) || errors.Is(err, ErrTooManyProbes) || !errors.As(err, &rej) || rej.Name != "test" {
		t.Fatalf("err = %#v", err)
	}
	if err.Error() != "breaker test: open" {
		t.Fatalf("message %q", err.Error())
	}
	st := b.Stats()
	want := [...]uint64{6, 1, 5, 1} // calls, successes, failures, rejections
	if got := [...]uint64{st.Calls, st.Successes, st.Failures, st.Rejections}; got != want {
		t.Fatalf("calls/successes/failures/rejections = %v, want %v", got, want)
	}
	if st.Generation != 1 || st.LastReason != ReasonFailureThreshold {
		t.Fatalf("gen %d reason %s", st.Generation, st.LastReason)
	}
}

func TestRecoveryHalfOpenAndClose(t *testing.T) {
	b, clk, rec := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: 10 * time.Second})
	ctx := context.Background()
	start := clk.Now()
	b.Call(ctx, fail)
	at, ok2 := b.NextTransition()
	if !ok2 || !at.Equal(start.Add(10*time.Second)) {
		t.Fatalf("NextTransition = %v %v", at, ok2)
	}
	clk.Advance(10*time.Second - 1)
	if err := b.Call(ctx, ok); !errors.Is(err, ErrOpen) {
		t.Fatalf("1ns early: err = %v", err)
	}
	clk.Advance(1)
	if b.State() != Open {
		t.Fatal("moved without a call")
	}
	if err := b.Call(ctx, ok); err != nil {
		t.Fatalf("probe: %v", err)
	}
	wantSeq(t, rec, "closed>open:failure_threshold", "open>half_open:recovery_timeout", "half_open>closed:probes_succeeded")
	if tr := rec.last(); !tr.At.Equal(start.Add(10*time.Second)) || tr.Generation != 3 || tr.Name != "test" {
		t.Fatalf("last transition %+v", tr)
	}
	if _, ok := b.NextTransition(); ok {
		t.Fatal("NextTransition pending while closed")
	}
}

func TestTickMovesToHalfOpen(t *testing.T) {
	b, clk, rec := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: time.Second})
	b.Call(context.Background(), fail)
	if b.Tick(clk.Now().Add(999 * time.Millisecond)) {
		t.Fatal("early tick moved")
	}
	if !b.Tick(clk.Now().Add(time.Second)) || b.State() != HalfOpen {
		t.Fatalf("tick did not move: %v", b.State())
	}
	if b.Tick(clk.Now().Add(2 * time.Second)) {
		t.Fatal("second tick moved again")
	}
	wantSeq(t, rec, "closed>open:failure_threshold", "open>half_open:recovery_timeout")
}

// A probe whose caller never calls Done (a lost Token) frees the breaker
// after ProbeTimeout: lazily on the next Allow, or by Tick; the phase ends
// as a failed probe would, the timeout is counted, and the late Done is
// dropped. Without it the breaker stayed half-open for good.
func TestLostProbeTokenExpires(t *testing.T) {
	ctx := context.Background()
	b, clk, rec := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: time.Second, ProbeTimeout: 5 * time.Second})
	b.Call(ctx, fail)
	clk.Advance(time.Second)
	lost, err := b.Allow()
	if err != nil || b.State() != HalfOpen {
		t.Fatalf("probe: %v %v", err, b.State())
	}
	if at, ok := b.NextTransition(); !ok || !at.Equal(clk.Now().Add(5*time.Second)) {
		t.Fatalf("next transition in half-open = %v %v, want the probe deadline", at, ok)
	}
	clk.Advance(4999 * time.Millisecond)
	if _, err := b.Allow(); !errors.Is(err, ErrTooManyProbes) {
		t.Fatalf("before the probe timeout: %v, want ErrTooManyProbes", err)
	}
	clk.Advance(time.Millisecond)
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) || errors.Is(err, ErrTooManyProbes) {
		t.Fatalf("after the probe timeout: %v, want open", err)
	}
	st := b.Stats()
	if st.State != Open || st.LastReason != ReasonProbeTimeout || st.ProbeTimeouts != 1 || st.FailedProbes != 1 {
		t.Fatalf("after the probe timeout: %+v", st)
	}
	lost.Done(ctx, nil) // late: its phase is gone
	if b.State() != Open {
		t.Fatal("a late Done of an expired probe closed the breaker")
	}
	// The next recovery probes again; Tick expires a lost probe too.
	clk.Advance(time.Second)
	if _, err := b.Allow(); err != nil || b.State() != HalfOpen {
		t.Fatalf("second probe: %v %v", err, b.State())
	}
	if b.Tick(clk.Now().Add(4 * time.Second)) {
		t.Fatal("tick expired the probe early")
	}
	if !b.Tick(clk.Now().Add(5*time.Second)) || b.State() != Open {
		t.Fatalf("tick did not expire the probe: %v", b.State())
	}
	if st := b.Stats(); st.ProbeTimeouts != 2 || st.FailedProbes != 2 {
		t.Fatalf("after two probe timeouts: %+v", st)
	}
	wantSeq(t, rec, "closed>open:failure_threshold",
		"open>half_open:recovery_timeout", "half_open>open:probe_timeout",
		"open>half_open:recovery_timeout", "half_open>open:probe_timeout")
	b.Reset()
	if st := b.Stats(); st.ProbeTimeouts != 0 {
		t.Fatalf("reset kept probe timeouts: %d", st.ProbeTimeouts)
	}
	// The default is twice CallTimeout, else 60s.
	if d := New("d", Settings{CallTimeout: time.Second}).Settings().ProbeTimeout; d != 2*time.Second {
		t.Fatalf("default probe timeout with call timeout 1s = %v", d)
	}
	if d := New("d", Settings{}).Settings().ProbeTimeout; d != DefaultProbeTimeout {
		t.Fatalf("default probe timeout = %v", d)
	}
}

func TestHalfOpenConcurrentProbesLimit(t *testing.T) {
	const K, callers = 3, 12
	b, clk, rec := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: time.Second, HalfOpenMaxCalls: K, SuccessThreshold: K})
	ctx := context.Background()
	b.Call(ctx, fail)
	clk.Advance(time.Second)

	var running, maxRunning atomic.Int32
	entered := make(chan struct{}, callers)
	release := make(chan struct{})
	results := make(chan error, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			results <- b.Call(ctx, func(context.Context) error {
				n := running.Add(1)
				for {
					m := maxRunning.Load()
					if n <= m || maxRunning.CompareAndSwap(m, n) {
						break
					}
				}
				entered <- struct{}{}
				<-release
				running.Add(-1)
				return nil
			})
		})
	}
	// Every caller either entered fn or was rejected; wait for all of them
	// before letting the probes finish.
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	admitted, rejected := 0, 0
	for admitted+rejected < callers {
		select {
		case <-entered:
			admitted++
		case err := <-results:
			if !errors.Is(err, ErrTooManyProbes) || !errors.Is(err, ErrOpen) {
				t.Fatalf("rejection err = %v", err)
			}
			rejected++
		case <-waitCtx.Done():
			t.Fatalf("timed out: admitted %d rejected %d", admitted, rejected)
		}
	}
	if admitted != K || rejected != callers-K {
		t.Fatalf("admitted %d rejected %d, want %d and %d", admitted, rejected, K, callers-K)
	}
	if st := b.Stats(); st.State != HalfOpen || st.HalfOpenInFlight != K {
		t.Fatalf("stats %+v", st)
	}
	close(release)
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Fatalf("probe err = %v", err)
		}
	}
	if maxRunning.Load() != K {
		t.Fatalf("max concurrent probes %d", maxRunning.Load())
	}
	wantSeq(t, rec, "closed>open:failure_threshold", "open>half_open:recovery_timeout", "half_open>closed:probes_succeeded")
	if st := b.Stats(); st.Rejections != callers-K {
		t.Fatalf("rejections %d", st.Rejections)
	}
}

func TestSuccessThresholdNeedsMProbes(t *testing.T) {
	b, clk, rec := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: time.Second, SuccessThreshold: 3})
	ctx := context.Background()
	b.Call(ctx, fail)
	clk.Advance(time.Second)
	for i := 1; i <= 2; i++ {
		if err := b.Call(ctx, ok); err != nil {
			t.Fatal(err)
		}
		if st := b.Stats(); st.State != HalfOpen || st.ProbeSuccesses != i {
			t.Fatalf("after %d probes: %v %d", i, st.State, st.ProbeSuccesses)
		}
	}
	b.Call(ctx, ok)
	wantSeq(t, rec, "closed>open:failure_threshold", "open>half_open:recovery_timeout", "half_open>closed:probes_succeeded")
}

func TestFailedProbeReopensAndCountsStreak(t *testing.T) {
	b, clk, rec := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: time.Second})
	ctx := context.Background()
	b.Call(ctx, fail)
	for i := 1; i <= 3; i++ {
		clk.Advance(time.Second)
		if err := b.Call(ctx, fail); !errors.Is(err, errBoom) {
			t.Fatalf("probe err = %v", err)
		}
		tr := rec.last()
		if tr.Reason != ReasonProbeFailed || tr.FailedProbes != i || b.Stats().FailedProbes != i {
			t.Fatalf("recovery %d: %+v", i, tr)
		}
		if err := b.Call(ctx, ok); !errors.Is(err, ErrOpen) {
			t.Fatalf("after failed probe: %v", err)
		}
	}
	clk.Advance(time.Second)
	b.Call(ctx, ok)
	wantSeq(t, rec,
		"closed>open:failure_threshold",
		"open>half_open:recovery_timeout", "half_open>open:probe_failed",
		"open>half_open:recovery_timeout", "half_open>open:probe_failed",
		"open>half_open:recovery_timeout", "half_open>open:probe_failed",
		"open>half_open:recovery_timeout", "half_open>closed:probes_succeeded")
	if tr := rec.last(); tr.FailedProbes != 0 {
		t.Fatalf("streak after close %d", tr.FailedProbes)
	}
}

func TestStaleOutcomesAreDropped(t *testing.T) {
	b, clk, rec := newTest(t, Settings{FailureThreshold: 2, RecoveryTimeout: time.Second})
	ctx := context.Background()

	// A call admitted while closed finishes after the breaker was opened and
	// closed again: its failure belongs to a dead generation.
	stale, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	b.Open()
	b.Close()
	stale.Done(ctx, errBoom)
	if st := b.Stats(); st.ConsecutiveFailures != 0 || st.Failures != 1 {
		t.Fatalf("stale closed outcome counted: consec %d failures %d", st.ConsecutiveFailures, st.Failures)
	}
	b.Call(ctx, fail)
	if b.State() != Closed {
		t.Fatal("one fresh failure opened a threshold-2 breaker: the stale one counted")
	}

	// A half-open probe that fails after a Reset does not reopen the breaker.
	b.Call(ctx, fail)
	clk.Advance(time.Second)
	probe, err := b.Allow()
	if err != nil || b.State() != HalfOpen {
		t.Fatalf("probe: %v %v", err, b.State())
	}
	b.Reset()
	probe.Done(ctx, errBoom)
	if b.State() != Closed {
		t.Fatalf("stale probe reopened: %v", b.State())
	}
	wantSeq(t, rec,
		"closed>open:manual_open", "open>closed:manual_close",
		"closed>open:failure_threshold", "open>half_open:recovery_timeout", "half_open>closed:reset")
}

func TestManualControl(t *testing.T) {
	b, clk, rec := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: time.Second})
	ctx := context.Background()
	b.Call(ctx, ok)
	b.Open()
	b.Open() // idempotent
	clk.Advance(time.Hour)
	if err := b.Call(ctx, ok); !errors.Is(err, ErrOpen) {
		t.Fatalf("forced open let a call through: %v", err)
	}
	if _, pending := b.NextTransition(); pending || b.Tick(clk.Now()) {
		t.Fatal("forced open has a recovery")
	}
	if st := b.Stats(); !st.Forced || st.State != Open {
		t.Fatalf("stats %+v", st)
	}
	b.Close()
	b.Close() // idempotent
	if b.State() != Closed {
		t.Fatal("not closed")
	}
	b.Call(ctx, fail) // opens (threshold 1)
	b.Reset()
	st := b.Stats()
	if st.State != Closed || st.Calls != 0 || st.Failures != 0 || st.Rejections != 0 || st.Latency.Count != 0 || st.FailedProbes != 0 {
		t.Fatalf("after reset: %+v", st)
	}
	b.Reset() // reset of a closed breaker zeroes but notifies nothing
	wantSeq(t, rec, "closed>open:manual_open", "open>closed:manual_close", "closed>open:failure_threshold", "open>closed:reset")
}

func TestRateModeCountWindow(t *testing.T) {
	b, _, rec := newTest(t, Settings{Mode: Rate, WindowSize: 4, MinimumCalls: 4, FailureRate: 50})
	ctx := context.Background()
	step := func(fn func(context.Context) error, wantCalls int64, wantRate float64) {
		t.Helper()
		b.Call(ctx, fn)
		if b.State() != Closed {
			t.Fatalf("opened early")
		}
		st := b.Stats()
		if st.WindowCalls != wantCalls || st.FailureRate != wantRate {
			t.Fatalf("window calls %d rate %v, want %d %v", st.WindowCalls, st.FailureRate, wantCalls, wantRate)
		}
	}
	// Below the minimum nothing is judged.
	step(fail, 1, 100)
	step(ok, 2, 50)
	step(ok, 3, 100.0/3)
	step(ok, 4, 25) // judged: 25% < 50%
	// Old outcomes leave the window: the last four calls only count.
	step(ok, 4, 0)    // [S S S S]
	step(fail, 4, 25) // [S F S S]
	b.Call(ctx, fail) // [S F F S]: 50%
	if b.State() != Open {
		t.Fatal("did not open at 50%")
	}
	wantSeq(t, rec, "closed>open:failure_rate")
	// A new closed phase starts with an empty window.
	b.Close()
	if st := b.Stats(); st.WindowCalls != 0 || st.FailureRate != 0 {
		t.Fatalf("window not cleared: %+v", st)
	}
}

// Rate mode judges after every outcome once the window holds MinimumCalls:
// a window that reaches its minimum with a success, at the threshold, opens
// (it stayed closed when only failures were judged).
func TestRateModeJudgesOnSuccess(t *testing.T) {
	ctx := context.Background()
	for _, wt := range []WindowType{CountWindow, TimeWindow} {
		t.Run(wt.String(), func(t *testing.T) {
			b, clk, rec := newTest(t, Settings{Mode: Rate, WindowType: wt, WindowSize: 10,
				WindowDuration: 10 * time.Second, MinimumCalls: 4, FailureRate: 50})
			b.Call(ctx, fail)
			b.Call(ctx, fail)
			b.Call(ctx, ok)
			if b.State() != Closed {
				t.Fatal("opened below the minimum")
			}
			b.Call(ctx, ok) // 4 calls, 2 failures: 50%, reached with a success
			if st := b.Stats(); st.State != Open || st.LastReason != ReasonFailureRate {
				t.Fatalf("after F F S S: %v (%s), want open (failure_rate)", st.State, st.LastReason)
			}
			wantSeq(t, rec, "closed>open:failure_rate")
			if wt != TimeWindow {
				return
			}
			// In a time window old successes leave: the rate can rise on a
			// success. [S S S S S S] then, 6s later, [F F] and S: 2/3.
			b.Reset()
			for range 6 {
				b.Call(ctx, ok)
			}
			clk.Advance(6 * time.Second)
			b.Call(ctx, fail)
			b.Call(ctx, fail) // 8 calls, 25%
			clk.Advance(5 * time.Second)
			if b.State() != Closed {
				t.Fatalf("opened at 25%%: %+v", b.Stats())
			}
			b.Call(ctx, ok) // the six successes left: F F S, 67%, 3 calls < 4
			b.Call(ctx, ok) // F F S S: 50%
			if b.State() != Open {
				t.Fatalf("did not open when old successes left: %+v", b.Stats())
			}
		})
	}
}

func TestRateModeTimeWindow(t *testing.T) {
	b, clk, rec := newTest(t, Settings{Mode: Rate, WindowType: TimeWindow, WindowDuration: 10 * time.Second, MinimumCalls: 4, FailureRate: 50})
	ctx := context.Background()
	for range 3 {
		b.Call(ctx, fail)
	}
	// 9.5s later the first bucket is still inside the window.
	clk.Advance(9500 * time.Millisecond)
	if st := b.Stats(); st.WindowCalls != 3 {
		t.Fatalf("window calls %d", st.WindowCalls)
	}
	clk.Advance(500 * time.Millisecond)
	// 10s later it has left.
	if st := b.Stats(); st.WindowCalls != 0 {
		t.Fatalf("expired window calls %d", st.WindowCalls)
	}
	b.Call(ctx, ok)
	b.Call(ctx, fail)
	b.Call(ctx, ok)
	if b.State() != Closed {
		t.Fatal("opened below the minimum")
	}
	b.Call(ctx, fail) // 4 calls, 2 failures
	if b.State() != Open {
		t.Fatalf("did not open: %+v", b.Stats())
	}
	wantSeq(t, rec, "closed>open:failure_rate")

	// Inside the window, old calls still count.
	b2, clk2, _ := newTest(t, Settings{Mode: Rate, WindowType: TimeWindow, WindowDuration: 10 * time.Second, MinimumCalls: 4, FailureRate: 100})
	for range 3 {
		b2.Call(ctx, fail)
	}
	clk2.Advance(9 * time.Second)
	b2.Call(ctx, fail)
	if b2.State() != Open {
		t.Fatalf("calls 9s old were not counted: %+v", b2.Stats())
	}
}

func TestTimeWindowBuckets(t *testing.T) {
	w := newTimeWindow(60 * time.Second)
	if w.n != 60 || w.width != int64(time.Second) {
		t.Fatalf("n %d width %d", w.n, w.width)
	}
	w = newTimeWindow(2 * time.Second)
	if w.n != 10 || w.width != int64(200*time.Millisecond) {
		t.Fatalf("n %d width %d", w.n, w.width)
	}
	// A late outcome for a bucket already reused is dropped.
	w.record(int64(2*time.Second), true) // bucket 10 -> slot 0
	w.record(0, true)                    // bucket 0 -> slot 0, older: dropped
	if calls, fails := w.totals(int64(2 * time.Second)); calls != 1 || fails != 1 {
		t.Fatalf("calls %d fails %d", calls, fails)
	}
	// Overflowing a bucket halves both counts: 1 call (a failure) plus
	// twCountMask-1 successes fill it; the next success halves it to
	// (twCountMask>>1)+1 calls and 0 failures, and one more adds 1.
	for range twCountMask {
		w.record(int64(2*time.Second), false)
	}
	if calls, fails := w.totals(int64(2 * time.Second)); calls != twCountMask>>1+1 || fails != 0 {
		t.Fatalf("after the halving calls %d fails %d", calls, fails)
	}
	w.record(int64(2*time.Second), true)
	calls, fails := w.totals(int64(2 * time.Second))
	if calls != twCountMask>>1+2 || fails != 1 {
		t.Fatalf("after overflow calls %d fails %d", calls, fails)
	}
}

func TestSlowCallsAreFailures(t *testing.T) {
	b, clk, rec := newTest(t, Settings{FailureThreshold: 2, SlowCallThreshold: 100 * time.Millisecond})
	ctx := context.Background()
	slow := func(context.Context) error { clk.Advance(150 * time.Millisecond); return nil }
	if err := b.Call(ctx, slow); err != nil {
		t.Fatalf("slow call's own result changed: %v", err)
	}
	st := b.Stats()
	if st.SlowCalls != 1 || st.Failures != 1 || st.ConsecutiveFailures != 1 {
		t.Fatalf("stats %+v", st)
	}
	if st.Latency.Counts[11] != 1 || st.Latency.Sum != 150*time.Millisecond { // (100ms, 250ms]
		t.Fatalf("histogram %+v", st.Latency)
	}
	b.Call(ctx, func(context.Context) error { clk.Advance(99 * time.Millisecond); return nil })
	if b.Stats().ConsecutiveFailures != 0 {
		t.Fatal("fast call counted as slow")
	}
	b.Call(ctx, slow)
	b.Call(ctx, slow)
	wantSeq(t, rec, "closed>open:failure_threshold")
}

func TestClassifier(t *testing.T) {
	errNotFound := errors.New("not found")
	b, _, rec := newTest(t, Settings{FailureThreshold: 1, IsFailure: func(err error) bool { return !errors.Is(err, errNotFound) }})

	// The caller's own cancellation is not the service's fault.
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.Call(cctx, func(ctx context.Context) error { return ctx.Err() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if st := b.Stats(); st.Ignored != 1 || st.Failures != 0 || st.Successes != 0 || b.State() != Closed {
		t.Fatalf("stats %+v", st)
	}
	// An error the classifier excuses counts as a success.
	b.Call(context.Background(), func(context.Context) error { return fmt.Errorf("get: %w", errNotFound) })
	if st := b.Stats(); st.Successes != 1 || b.State() != Closed {
		t.Fatalf("stats %+v", st)
	}
	// context.Canceled from the service while the caller is fine is a failure.
	b.Call(context.Background(), func(context.Context) error { return context.Canceled })
	if b.State() != Open {
		t.Fatal("service-side cancel not counted")
	}
	wantSeq(t, rec, "closed>open:failure_threshold")

	// A cancelled caller's ignored probe frees its slot without a verdict.
	b2, clk, _ := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: time.Second})
	b2.Call(context.Background(), fail)
	clk.Advance(time.Second)
	b2.Call(cctx, func(ctx context.Context) error { return ctx.Err() })
	if st := b2.Stats(); st.State != HalfOpen || st.HalfOpenInFlight != 0 {
		t.Fatalf("after ignored probe: %+v", st)
	}
}

func TestCallTimeout(t *testing.T) {
	b := New("t", Settings{FailureThreshold: 2, CallTimeout: 20 * time.Millisecond})
	err := b.Call(context.Background(), func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	var te *TimeoutError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) || !errors.As(err, &te) || te.Timeout != 20*time.Millisecond {
		t.Fatalf("err = %v", err)
	}
	if st := b.Stats(); st.Timeouts != 1 || st.Failures != 1 || st.ConsecutiveFailures != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Within the timeout, fn's context carries the deadline and a result passes.
	v, err := Do(context.Background(), b, func(ctx context.Context) (int, error) {
		if _, ok := ctx.Deadline(); !ok {
			return 0, errors.New("no deadline")
		}
		return 7, nil
	})
	if v != 7 || err != nil {
		t.Fatalf("Do = %d, %v", v, err)
	}
	v, err = Do(context.Background(), b, func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 9, nil
	})
	if v != 0 || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Do timeout = %d, %v", v, err)
	}
	if st := b.Stats(); st.Timeouts != 2 {
		t.Fatalf("timeouts %d", st.Timeouts)
	}
}

func TestDoRejectsWithZero(t *testing.T) {
	b, _, _ := newTest(t, Settings{FailureThreshold: 1})
	ctx := context.Background()
	if _, err := Do(ctx, b, func(context.Context) (string, error) { return "x", errBoom }); !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	v, err := Do(ctx, b, func(context.Context) (string, error) { return "x", nil })
	if v != "" || !errors.Is(err, ErrOpen) {
		t.Fatalf("Do = %q, %v", v, err)
	}
}

func TestPanicCountsAsFailureAndFreesProbe(t *testing.T) {
	b, clk, rec := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: time.Second})
	b.Call(context.Background(), fail)
	clk.Advance(time.Second)
	func() {
		defer func() {
			if recover() != "kaboom" {
				t.Fatal("panic not propagated")
			}
		}()
		b.Call(context.Background(), func(context.Context) error { panic("kaboom") })
	}()
	if st := b.Stats(); st.State != Open || st.HalfOpenInFlight != 0 {
		t.Fatalf("after panicking probe: %+v", st)
	}
	wantSeq(t, rec, "closed>open:failure_threshold", "open>half_open:recovery_timeout", "half_open>open:probe_failed")
}

func TestSubscribe(t *testing.T) {
	b := New("s", Settings{FailureThreshold: 1})
	var a, c recorder
	cancelA := b.Subscribe(a.on)
	cancelC := b.Subscribe(c.on)
	b.Open()
	cancelA()
	cancelA()
	b.Close()
	cancelC()
	b.Open()
	wantSeq(t, &a, "closed>open:manual_open")
	wantSeq(t, &c, "closed>open:manual_open", "open>closed:manual_close")
}

func TestStateText(t *testing.T) {
	b, _ := json.Marshal(map[string]State{"a": Closed, "b": Open, "c": HalfOpen})
	if string(b) != `{"a":"closed","b":"open","c":"half_open"}` {
		t.Fatal(string(b))
	}
	var s State
	if err := json.Unmarshal([]byte(`"half_open"`), &s); err != nil || s != HalfOpen {
		t.Fatal(s, err)
	}
	if err := json.Unmarshal([]byte(`"ajar"`), &s); !errors.Is(err, ErrState) {
		t.Fatal(err)
	}
	if State(9).String() != "state(9)" {
		t.Fatal(State(9).String())
	}
}

func TestStatsJSON(t *testing.T) {
	b, _, _ := newTest(t, Settings{FailureThreshold: 1})
	b.Call(context.Background(), fail)
	raw, err := json.Marshal(b.Stats())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	if m["state"] != "open" || m["failures"] != 1.0 || m["last_reason"] != "failure_threshold" || m["next_transition"] == nil {
		t.Fatalf("%s", raw)
	}
}

func TestSettingsDefaultsAndValidate(t *testing.T) {
	s := Settings{}.withDefaults()
	if s.FailureThreshold != 5 || s.RecoveryTimeout != 30*time.Second || s.WindowSize != 100 ||
		s.WindowDuration != time.Minute || s.FailureRate != 50 || s.MinimumCalls != 10 ||
		s.HalfOpenMaxCalls != 1 || s.SuccessThreshold != 1 || s.CallTimeout != 0 || s.SlowCallThreshold != 0 {
		t.Fatalf("%+v", s)
	}
	if err := (Settings{}).Validate(); err != nil {
		t.Fatal(err)
	}
	err := Settings{FailureThreshold: -1, FailureRate: 150}.Validate()
	if !errors.Is(err, ErrSettings) {
		t.Fatal(err)
	}
	if _, err := ParseMode("ratio"); !errors.Is(err, ErrSettings) {
		t.Fatal(err)
	}
	if m, _ := ParseMode("rate"); m != Rate {
		t.Fatal(m)
	}
	if w, _ := ParseWindowType("time"); w != TimeWindow {
		t.Fatal(w)
	}
}

func TestDisabledTelemetryKeepsStateMachine(t *testing.T) {
	b := New("quiet", Settings{FailureThreshold: 2, DisableTelemetry: true})
	ctx := context.Background()
	b.Call(ctx, fail)
	b.Call(ctx, fail)
	if err := b.Call(ctx, ok); !errors.Is(err, ErrOpen) {
		t.Fatal(err)
	}
	if st := b.Stats(); st.Telemetry || st.Calls != 0 || st.Rejections != 0 || st.State != Open {
		t.Fatalf("%+v", st)
	}
}

// Many goroutines in rate mode with a flapping service: -race checks the
// lock-free paths and that every call is accounted for.
func TestConcurrentStress(t *testing.T) {
	clk := newFakeClock()
	b := New("stress", Settings{Mode: Rate, WindowSize: 20, MinimumCalls: 5, RecoveryTimeout: time.Millisecond, HalfOpenMaxCalls: 2, Clock: clk})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				b.Call(context.Background(), func(context.Context) error {
					if (i+g)%3 == 0 {
						return errBoom
					}
					return nil
				})
				if i%50 == 0 {
					clk.Advance(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	st := b.Stats()
	if st.Calls+st.Rejections != 16000 || st.HalfOpenInFlight != 0 {
		t.Fatalf("calls %d rejections %d in flight %d", st.Calls, st.Rejections, st.HalfOpenInFlight)
	}
}

func TestHalfOpenFromForcedOpen(t *testing.T) {
	b := New("h", Settings{RecoveryTimeout: time.Hour})
	var got []Transition
	b.Subscribe(func(tr Transition) { got = append(got, tr) })
	if b.HalfOpen() {
		t.Fatal("HalfOpen moved a closed breaker")
	}
	b.Open()
	if !b.HalfOpen() || b.State() != HalfOpen {
		t.Fatalf("HalfOpen from forced open: state %v", b.State())
	}
	if b.HalfOpen() {
		t.Fatal("HalfOpen moved a half-open breaker")
	}
	if err := b.Call(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	want := []State{Open, HalfOpen, Closed}
	if len(got) != len(want) {
		t.Fatalf("transitions %+v", got)
	}
	for i, s := range want {
		if got[i].To != s {
			t.Fatalf("transition %d to %v, want %v", i, got[i].To, s)
		}
	}
	if got[1].Reason != ReasonRecoveryTimeout {
		t.Fatalf("reason %v", got[1].Reason)
	}
}

// An adapter that enforces CallTimeout itself reports it through Done with a
// *TimeoutError naming the breaker; another breaker's timeout is an ordinary
// failure.
func TestDoneCountsOwnTimeoutError(t *testing.T) {
	b := New("t", Settings{FailureThreshold: 5, CallTimeout: time.Second})
	tok, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	tok.Done(context.Background(), fmt.Errorf("wrapped: %w", &TimeoutError{Name: "t", Timeout: time.Second}))
	tok, _ = b.Allow()
	tok.Done(context.Background(), &TimeoutError{Name: "other", Timeout: time.Second})
	if st := b.Stats(); st.Timeouts != 1 || st.Failures != 2 {
		t.Fatalf("stats %+v, want 1 timeout of 2 failures", st)
	}
}

// Listeners receive every transition, one at a time, in generation order,
// with none missing, however many goroutines race to make them. (Before,
// the goroutine that won a transition's compare-and-swap notified it
// itself, so a slower winner could notify after the next transition.)
func TestTransitionsDeliveredInGenerationOrder(t *testing.T) {
	b := New("order", Settings{FailureThreshold: 1, RecoveryTimeout: time.Nanosecond, HalfOpenMaxCalls: 2})
	type seen struct {
		mu     sync.Mutex
		got    []Transition
		inside atomic.Int32 // listeners running at once
		overlp atomic.Bool
	}
	var a, c seen
	listen := func(s *seen) func(Transition) {
		return func(tr Transition) {
			if s.inside.Add(1) > 1 {
				s.overlp.Store(true)
			}
			s.mu.Lock()
			s.got = append(s.got, tr)
			s.mu.Unlock()
			s.inside.Add(-1)
		}
	}
	defer b.Subscribe(listen(&a))()
	defer b.Subscribe(listen(&c))()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			ctx := context.Background()
			for i := range 1500 {
				switch (i + g) % 7 {
				case 0:
					b.Open()
				case 1:
					b.Close()
				case 2, 3:
					b.Call(ctx, ok)
				default:
					b.Call(ctx, fail)
				}
			}
		})
	}
	wg.Wait()
	final := b.Generation()
	if final < 1000 {
		t.Fatalf("only %d transitions: the test drives too few", final)
	}
	for name, s := range map[string]*seen{"first": &a, "second": &c} {
		if s.overlp.Load() {
			t.Errorf("%s listener: ran concurrently with itself", name)
		}
		prev := Transition{To: Closed}
		for i, tr := range s.got {
			if tr.Generation != uint64(i+1) || tr.From != prev.To {
				t.Fatalf("%s listener: transition %d is gen %d %s>%s after gen %d to %s; want gen %d from %s (no gap, no reordering)",
					name, i, tr.Generation, tr.From, tr.To, prev.Generation, prev.To, i+1, prev.To)
			}
			prev = tr
		}
		if uint64(len(s.got)) != final {
			t.Fatalf("%s listener: %d transitions, want %d (the final generation)", name, len(s.got), final)
		}
	}
}
