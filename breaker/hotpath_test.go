package breaker

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// set moves the clock to d past its present without running the timers
// that fall due: a timer that is late, as real ones may be.
func (c *fakeClock) set(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// With a TimerClock the open period ends when the open phase's timer fires,
// at exactly RecoveryTimeout on the clock, and the rejections before it do
// not read the clock. (Before, every rejection read it.)
func TestOpenPeriodEndsAtTimerFire(t *testing.T) {
	b, clk, rec := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: time.Second})
	ctx := context.Background()
	opened := clk.Now()
	b.Call(ctx, fail)
	if n := clk.pending(); n != 1 {
		t.Fatalf("%d timers pending after the trip, want 1", n)
	}
	clk.Advance(time.Second - time.Nanosecond)
	reads := clk.reads.Load()
	for i := range 100 {
		if err := b.Call(ctx, ok); !errors.Is(err, ErrOpen) {
			t.Fatalf("rejection %d: %v", i, err)
		}
	}
	if n := clk.reads.Load() - reads; n != 0 {
		t.Fatalf("100 rejections read the clock %d times, want 0", n)
	}
	clk.Advance(time.Nanosecond) // the recovery timer fires
	if n := clk.pending(); n != 0 {
		t.Fatalf("%d timers pending after the fire, want 0", n)
	}
	if b.State() != Open {
		t.Fatalf("the timer moved the breaker itself (%v): the move stays with the next call", b.State())
	}
	tok, err := b.Allow()
	if err != nil || b.State() != HalfOpen {
		t.Fatalf("first call after the fire: %v %v", err, b.State())
	}
	if at := b.Stats().LastTransition; !at.Equal(opened.Add(time.Second)) {
		t.Fatalf("half-open at %v, want %v", at, opened.Add(time.Second))
	}
	tok.Done(ctx, nil)
	wantSeq(t, rec, "closed>open:failure_threshold", "open>half_open:recovery_timeout", "half_open>closed:probes_succeeded")
	if st := b.Stats(); st.Rejections != 100 || st.Calls != 2 {
		t.Fatalf("rejections %d calls %d, want 100 and 2", st.Rejections, st.Calls)
	}
}

// The timer, not the clock, ends the open period: past RecoveryTimeout a
// late timer keeps the breaker rejecting; NextTransition still says when
// the move was due, and Tick (the owner's timer) makes it at once.
func TestLateTimerKeepsRejectingUntilTick(t *testing.T) {
	b, clk, rec := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: time.Second})
	ctx := context.Background()
	b.Call(ctx, fail)
	due, _ := b.NextTransition()
	clk.set(2 * time.Second)
	if err := b.Call(ctx, ok); !errors.Is(err, ErrOpen) {
		t.Fatalf("before the timer fired: %v, want ErrOpen", err)
	}
	if at, ok := b.NextTransition(); !ok || !at.Equal(due) {
		t.Fatalf("NextTransition %v %v, want %v", at, ok, due)
	}
	if !b.Tick(clk.Now()) || b.State() != HalfOpen {
		t.Fatalf("Tick past the due instant: %v", b.State())
	}
	// Tick replaced the open phase: its timer is stopped, the half-open
	// phase's probe timer runs.
	if n := clk.pending(); n != 1 {
		t.Fatalf("%d timers pending, want 1 (the probe timeout)", n)
	}
	wantSeq(t, rec, "closed>open:failure_threshold", "open>half_open:recovery_timeout")
}

// A half-open phase with its probe slots taken rejects without reading the
// clock, and its probe timer ends it at exactly ProbeTimeout. A phase that
// Tick entered at an instant ahead of the clock is due at its own deadline,
// not ProbeTimeout from now.
func TestProbeTimeoutEndsAtTimerFire(t *testing.T) {
	b, clk, rec := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: time.Second, ProbeTimeout: 5 * time.Second})
	ctx := context.Background()
	b.Call(ctx, fail)
	clk.Advance(time.Second)
	lost, err := b.Allow()
	if err != nil || b.State() != HalfOpen {
		t.Fatalf("probe: %v %v", err, b.State())
	}
	clk.Advance(5*time.Second - time.Nanosecond)
	reads := clk.reads.Load()
	for i := range 50 {
		if _, err := b.Allow(); !errors.Is(err, ErrTooManyProbes) {
			t.Fatalf("rejection %d: %v, want ErrTooManyProbes", i, err)
		}
	}
	if n := clk.reads.Load() - reads; n != 0 {
		t.Fatalf("50 half-open rejections read the clock %d times, want 0", n)
	}
	clk.Advance(time.Nanosecond)
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) || errors.Is(err, ErrTooManyProbes) {
		t.Fatalf("at the probe timeout: %v, want open", err)
	}
	lost.Done(ctx, nil) // late: dropped
	if st := b.Stats(); st.State != Open || st.ProbeTimeouts != 1 || st.Rejections != 51 {
		t.Fatalf("after the probe timeout: state %v probe timeouts %d rejections %d", st.State, st.ProbeTimeouts, st.Rejections)
	}

	// Tick enters half-open 3s ahead of the clock: the probes are due
	// 3s + 5s from now.
	if !b.Tick(clk.Now().Add(3 * time.Second)) {
		t.Fatal("Tick ahead of the clock did not move")
	}
	if _, err := b.Allow(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	if _, err := b.Allow(); !errors.Is(err, ErrTooManyProbes) {
		t.Fatalf("5s after a half-open entered 3s ahead: %v, want ErrTooManyProbes", err)
	}
	clk.Advance(3 * time.Second)
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) || errors.Is(err, ErrTooManyProbes) {
		t.Fatalf("at the probe deadline: %v, want open", err)
	}
	wantSeq(t, rec, "closed>open:failure_threshold",
		"open>half_open:recovery_timeout", "half_open>open:probe_timeout",
		"open>half_open:recovery_timeout", "half_open>open:probe_timeout")
}

// A phase that ends before its timer fires stops the timer; phases with no
// timed transition (closed, opened by hand, held) arm none.
func TestTimersStoppedWithTheirPhase(t *testing.T) {
	b, clk, _ := newTest(t, Settings{FailureThreshold: 1, RecoveryTimeout: time.Second})
	ctx := context.Background()
	check := func(what string, want int) {
		t.Helper()
		if n := clk.pending(); n != want {
			t.Fatalf("%s: %d timers pending, want %d", what, n, want)
		}
	}
	b.Call(ctx, fail)
	check("tripped", 1)
	b.Close()
	check("closed by hand", 0)
	b.Open()
	check("opened by hand", 0)
	b.HalfOpen()
	check("half-open", 1)
	b.Call(ctx, ok)
	check("closed by a probe", 0)
	b.Hold(ReasonClusterOpen)
	check("held", 0)
	b.Reset()
	b.Call(ctx, fail)
	b.Hold(ReasonClusterOpen) // held over a trip: the recovery is the owner's
	check("tripped, then held", 0)
	b.Reset()
	check("reset", 0)
}

// A Clock that is not a TimerClock keeps the old path: the first call
// after the open period (or the probe timeout) reads the clock and moves.
func TestPlainClockEndsPhasesByReading(t *testing.T) {
	clk := newFakeClock()
	rec := &recorder{}
	b := New("plain", Settings{
		FailureThreshold: 1, RecoveryTimeout: time.Second, ProbeTimeout: 5 * time.Second,
		Clock: nowClock{clk}, OnTransition: rec.on,
	})
	ctx := context.Background()
	b.Call(ctx, fail)
	clk.set(time.Second - time.Nanosecond)
	if err := b.Call(ctx, ok); !errors.Is(err, ErrOpen) {
		t.Fatalf("before the recovery timeout: %v", err)
	}
	clk.set(time.Nanosecond)
	if _, err := b.Allow(); err != nil || b.State() != HalfOpen {
		t.Fatalf("at the recovery timeout: %v %v", err, b.State())
	}
	clk.set(5*time.Second - time.Nanosecond)
	if _, err := b.Allow(); !errors.Is(err, ErrTooManyProbes) {
		t.Fatalf("before the probe timeout: %v", err)
	}
	clk.set(time.Nanosecond)
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) || errors.Is(err, ErrTooManyProbes) {
		t.Fatalf("at the probe timeout: %v", err)
	}
	if n := clk.pending(); n != 0 {
		t.Fatalf("a plain clock got %d timers", n)
	}
	wantSeq(t, rec, "closed>open:failure_threshold", "open>half_open:recovery_timeout", "half_open>open:probe_timeout")
}

// The real clock arms real timers: an open breaker with a short recovery
// goes half-open on the first call after its timer fired.
func TestRealClockTimerEndsOpenPeriod(t *testing.T) {
	moved := make(chan Transition, 4)
	b := New("real", Settings{FailureThreshold: 1, RecoveryTimeout: time.Millisecond, OnTransition: func(tr Transition) { moved <- tr }})
	ctx := context.Background()
	b.Call(ctx, fail)
	<-moved
	deadline := time.After(10 * time.Second)
	for {
		// Not a sleep: each call is a rejection until the timer fires
		// (one atomic load); the loop ends on the first admitted one.
		if err := b.Call(ctx, ok); err == nil {
			break
		} else if !errors.Is(err, ErrOpen) {
			t.Fatal(err)
		}
		select {
		case <-deadline:
			t.Fatal("the recovery timer never fired")
		default:
			runtime.Gosched()
		}
	}
	if tr := <-moved; tr.To != HalfOpen || tr.Reason != ReasonRecoveryTimeout {
		t.Fatalf("transition %+v", tr)
	}
	if tr := <-moved; tr.To != Closed {
		t.Fatalf("transition %+v", tr)
	}
}

// N goroutines × M calls: every outcome and every rejection is counted,
// exactly, in closed, open and half-open.
func TestExactTotalsUnderConcurrency(t *testing.T) {
	const G, M = 8, 3000
	clk := newFakeClock()
	b := New("exact", Settings{FailureThreshold: 1 << 30, LatencySampling: 1, Clock: clk, RecoveryTimeout: time.Second})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	run := func(f func(g, i int)) {
		var wg sync.WaitGroup
		for g := range G {
			wg.Go(func() {
				for i := range M {
					f(g, i)
				}
			})
		}
		wg.Wait()
	}
	run(func(g, i int) {
		switch (g + i) % 3 {
		case 0:
			b.Call(context.Background(), fail)
		case 1:
			b.Call(context.Background(), ok)
		default:
			b.Call(cancelled, func(ctx context.Context) error { return ctx.Err() })
		}
	})
	st := b.Stats()
	third := uint64(G * M / 3)
	if st.Calls != G*M || st.Successes != third || st.Failures != third || st.Ignored != third || st.Rejections != 0 {
		t.Fatalf("closed: calls %d successes %d failures %d ignored %d rejections %d, want %d, %d each, 0",
			st.Calls, st.Successes, st.Failures, st.Ignored, st.Rejections, G*M, third)
	}
	if st.Latency.Count != G*M {
		t.Fatalf("latency count %d with every call timed, want %d", st.Latency.Count, G*M)
	}
	b.Open()
	run(func(int, int) { b.Call(context.Background(), ok) })
	if st := b.Stats(); st.Rejections != G*M || st.Calls != G*M {
		t.Fatalf("open: rejections %d calls %d, want %d and %d", st.Rejections, st.Calls, G*M, G*M)
	}
	b.HalfOpen()
	probe, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	run(func(int, int) { b.Allow() })
	if st := b.Stats(); st.Rejections != 2*G*M || st.HalfOpenInFlight != 1 {
		t.Fatalf("half-open: rejections %d in flight %d, want %d and 1", st.Rejections, st.HalfOpenInFlight, 2*G*M)
	}
	probe.Done(context.Background(), nil)
	if st := b.Stats(); st.State != Closed || st.Calls != G*M+1 {
		t.Fatalf("after the probe: %v, calls %d", st.State, st.Calls)
	}
}

// By default 1 call in 32 is timed (was 8: the clock reads were the largest
// part of a Call with telemetry on); the histogram says so, and one
// goroutine's serial calls are timed exactly every 32nd. SlowCallThreshold
// still times every call.
func TestLatencySamplingDefault(t *testing.T) {
	clk := newFakeClock()
	b := New("sampled", Settings{Clock: clk})
	if got := b.Settings().LatencySampling; got != 32 {
		t.Fatalf("default LatencySampling %d, want 32", got)
	}
	ctx := context.Background()
	reads := clk.reads.Load()
	for range 320 {
		b.Call(ctx, ok)
	}
	st := b.Stats()
	if st.Latency.SampleEvery != 32 || st.Latency.Count != 10 || st.Calls != 320 {
		t.Fatalf("sample every %d, %d timed of %d calls; want 32, 10 of 320", st.Latency.SampleEvery, st.Latency.Count, st.Calls)
	}
	if n := clk.reads.Load() - reads; n != 20 {
		t.Fatalf("320 calls read the clock %d times, want 20 (start and end of 10)", n)
	}
	slow := New("slow", Settings{SlowCallThreshold: time.Second})
	for range 5 {
		slow.Call(ctx, ok)
	}
	if st := slow.Stats(); st.Latency.SampleEvery != 1 || st.Latency.Count != 5 {
		t.Fatalf("with SlowCallThreshold: sample every %d, %d timed of 5", st.Latency.SampleEvery, st.Latency.Count)
	}
}

// A Token carries the counters Allow picked for its call, so a Done made
// on another goroutine still counts exactly once, with sampling at its
// default (the untimed fast path) and with every call timed.
func TestDoneOnAnotherGoroutineCountsOnce(t *testing.T) {
	for _, every := range []int{0, 1} {
		b := New("handoff", Settings{FailureThreshold: 1 << 30, LatencySampling: every})
		const n = 2000
		tokens := make(chan Token, n)
		done := make(chan struct{})
		go func() {
			defer close(done)
			i := 0
			for tok := range tokens {
				if i%2 == 0 {
					tok.Done(nil, nil)
				} else {
					tok.Done(nil, errors.New("boom"))
				}
				i++
			}
		}()
		for range n {
			tok, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			tokens <- tok
		}
		close(tokens)
		<-done
		st := b.Stats()
		if st.Calls != n || st.Successes != n/2 || st.Failures != n/2 {
			t.Fatalf("sampling %d: calls %d successes %d failures %d, want %d, %d, %d", every, st.Calls, st.Successes, st.Failures, n, n/2, n/2)
		}
	}
}

// Goroutines whose stacks share an 8 KiB block (the runtime's stacks
// start at 2 KiB) still spread over the counter stripes: the pick hashes
// the stack address from bit 11 up. Hashing from bit 13 put every such
// group on one stripe, and so both goroutines of a parallel caller on one
// cache line in most runs.
func TestStripePickSpreadsSmallStacks(t *testing.T) {
	tel := newTelemetry(1)
	all := tel.stripes()
	const n = 256
	type pickAt struct {
		block uintptr
		idx   int
	}
	picks := make([]pickAt, n)
	var ready, release sync.WaitGroup
	ready.Add(n)
	release.Add(1)
	var done sync.WaitGroup
	for i := range n {
		done.Go(func() {
			var x byte
			s := tel.pick()
			for j := range all {
				if &all[j] == s {
					picks[i] = pickAt{uintptr(unsafe.Pointer(&x)) >> 13, j}
				}
			}
			ready.Done()
			release.Wait() // every goroutine alive at once: no stack is reused
		})
	}
	ready.Wait()
	release.Done()
	done.Wait()
	byBlock := map[uintptr]map[int]bool{}
	for _, p := range picks {
		if byBlock[p.block] == nil {
			byBlock[p.block] = map[int]bool{}
		}
		byBlock[p.block][p.idx] = true
	}
	spread := 0
	for _, idx := range byBlock {
		if len(idx) > 1 {
			spread++
		}
	}
	if len(byBlock) == n {
		t.Fatalf("no two of %d goroutines' stacks share an 8 KiB block: the runtime's stacks are not 2 KiB here", n)
	}
	if spread == 0 {
		t.Fatalf("%d goroutines in %d blocks of 8 KiB: every block's goroutines on one stripe", n, len(byBlock))
	}
}
