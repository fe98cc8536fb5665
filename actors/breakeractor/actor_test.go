package breakeractor

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

const waitFor = 5 * time.Second

var errBoom = errors.New("boom")

func fail(context.Context) error { return errBoom }
func ok(context.Context) error   { return nil }

// events collects BreakerStateChanged events synchronously on the
// publisher's goroutine, so that a request round trip to the actor is a
// barrier: every event published before the reply is already here.
type events struct {
	mu  sync.Mutex
	got []string
	ch  chan string
}

func watchEvents(t *testing.T, sys *actor.ActorSystem) *events {
	e := &events{ch: make(chan string, 256)}
	sub := sys.EventStream.Subscribe(func(m any) {
		if ev, ok := m.(*event.BreakerStateChanged); ok {
			s := fmt.Sprintf("%s %s>%s:%s", ev.Name, ev.From, ev.To, ev.Reason)
			e.mu.Lock()
			e.got = append(e.got, s)
			e.mu.Unlock()
			e.ch <- s
		}
	})
	t.Cleanup(func() { sys.EventStream.Unsubscribe(sub) })
	return e
}

func (e *events) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string{}, e.got...)
}

func (e *events) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-e.ch:
		return s
	case <-time.After(waitFor):
		t.Fatalf("no event; so far %q", e.all())
		return ""
	}
}

type alert struct {
	sev            algedonic.Severity
	source, reason string
}

type alerts struct{ ch chan alert }

func (a *alerts) Raise(sev algedonic.Severity, source, reason string) {
	a.ch <- alert{sev, source, reason}
}

func (a *alerts) next(t *testing.T) alert {
	t.Helper()
	select {
	case x := <-a.ch:
		return x
	case <-time.After(waitFor):
		t.Fatal("no alert")
		return alert{}
	}
}

func (a *alerts) none(t *testing.T) {
	t.Helper()
	select {
	case x := <-a.ch:
		t.Fatalf("unexpected alert %+v", x)
	default:
	}
}

func spawn(t *testing.T, sys *actor.ActorSystem, props *actor.Props) *actor.PID {
	t.Helper()
	pid := sys.Root.Spawn(props)
	t.Cleanup(func() { sys.Root.StopFuture(pid).Wait() })
	return pid
}

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

// The actor's timer moves the breaker to half-open without any call,
// publishes every transition, raises a Warning when it trips and a
// Critical after three failed recoveries in a row.
func TestTimerEventsAndAlerts(t *testing.T) {
	sys := actortest.NewSystem(t)
	ev := watchEvents(t, sys)
	al := &alerts{ch: make(chan alert, 16)}
	b := cb.New("api", cb.Settings{FailureThreshold: 1, RecoveryTimeout: 20 * time.Millisecond})
	spawn(t, sys, Props(b, Env{Events: sys.EventStream, Alerts: al, Name: "s1/breaker/api"}))
	ctx := context.Background()

	b.Call(ctx, fail)
	if got := ev.next(t); got != "s1/breaker/api closed>open:failure_threshold" {
		t.Fatal(got)
	}
	if a := al.next(t); a.sev != algedonic.Warning || a.source != "s1/breaker/api" || a.reason != "breaker opened (failure_threshold)" {
		t.Fatalf("alert %+v", a)
	}
	for i := 1; i <= 3; i++ {
		// No call is made: the actor's timer publishes the recovery.
		if got := ev.next(t); got != "s1/breaker/api open>half_open:recovery_timeout" {
			t.Fatalf("recovery %d: %s", i, got)
		}
		b.Call(ctx, fail)
		if got := ev.next(t); got != "s1/breaker/api half_open>open:probe_failed" {
			t.Fatalf("recovery %d: %s", i, got)
		}
		if i < 3 {
			al.none(t)
		}
	}
	if a := al.next(t); a.sev != algedonic.Critical || a.reason != "breaker failed its half-open probe 3 recoveries in a row" {
		t.Fatalf("alert %+v", a)
	}
	if got := ev.next(t); got != "s1/breaker/api open>half_open:recovery_timeout" {
		t.Fatal(got)
	}
	b.Call(ctx, ok)
	if got := ev.next(t); got != "s1/breaker/api half_open>closed:probes_succeeded" {
		t.Fatal(got)
	}
	al.none(t)
}

// A manual open raises no alert and arms no timer.
func TestManualCommandsByHelper(t *testing.T) {
	sys := actortest.NewSystem(t)
	ev := watchEvents(t, sys)
	al := &alerts{ch: make(chan alert, 16)}
	b := cb.New("db", cb.Settings{FailureThreshold: 1})
	pid := spawn(t, sys, Props(b, Env{Events: sys.EventStream, Alerts: al}))
	ctx := bg(t)

	st, err := Open(ctx, sys.Root, pid)
	if err != nil || st.State != cb.Open || !st.Forced {
		t.Fatalf("open: %+v %v", st, err)
	}
	if err := Execute(ctx, sys.Root, pid, ok); !errors.Is(err, cb.ErrOpen) {
		t.Fatalf("execute while open: %v", err)
	}
	st, err = Close(ctx, sys.Root, pid)
	if err != nil || st.State != cb.Closed {
		t.Fatalf("close: %+v %v", st, err)
	}
	if err := Execute(ctx, sys.Root, pid, fail); !errors.Is(err, errBoom) {
		t.Fatalf("execute: %v", err)
	}
	st, err = Stats(ctx, sys.Root, pid)
	if err != nil || st.State != cb.Open || st.Failures != 1 || st.Rejections != 1 {
		t.Fatalf("stats: %+v %v", st, err)
	}
	st, err = Reset(ctx, sys.Root, pid)
	if err != nil || st.State != cb.Closed || st.Failures != 0 || st.Calls != 0 {
		t.Fatalf("reset: %+v %v", st, err)
	}
	if _, err := Stats(ctx, sys.Root, pid); err != nil { // barrier: events are in
		t.Fatal(err)
	}
	want := []string{"db closed>open:manual_open", "db open>closed:manual_close", "db closed>open:failure_threshold", "db open>closed:reset"}
	if got := ev.all(); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %q", got)
	}
	if a := al.next(t); a.sev != algedonic.Warning || a.source != "db" {
		t.Fatalf("alert %+v", a)
	}
	al.none(t)
}

func TestExecuteDeadlineBusyAndPanic(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := cb.New("x", cb.Settings{FailureThreshold: 10})
	pid := spawn(t, sys, Props(b, Env{MaxCalls: 1}))
	ctx := bg(t)

	// fn gets the caller's deadline.
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	other := spawn(t, sys, Props(cb.New("y", cb.Settings{}), Env{}))
	err := Execute(dctx, sys.Root, other, func(c context.Context) error {
		<-c.Done()
		return c.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}

	// One call at most: a second one is refused while the first runs.
	entered, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- Execute(ctx, sys.Root, pid, func(context.Context) error { close(entered); <-release; return nil })
	}()
	select {
	case <-entered:
	case err := <-first:
		t.Fatalf("first call did not run: %v", err)
	}
	if err := Execute(ctx, sys.Root, pid, ok); !errors.Is(err, ErrBusy) {
		t.Fatalf("second call: %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}

	// A panicking fn is an error for the caller and a failure for the breaker.
	if err := Execute(ctx, sys.Root, pid, func(context.Context) error { panic("kaboom") }); !errors.Is(err, ErrPanicked) {
		t.Fatalf("panic: %v", err)
	}
	if st := b.Stats(); st.Failures != 1 {
		t.Fatalf("failures %d", st.Failures)
	}
}

// Stopping the actor cancels the calls it runs.
func TestStopCancelsCalls(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := cb.New("x", cb.Settings{})
	pid := sys.Root.Spawn(Props(b, Env{}))
	ctx := bg(t)
	entered := make(chan struct{})
	ended := make(chan error, 1)
	go func() {
		ended <- Execute(ctx, sys.Root, pid, func(c context.Context) error {
			close(entered)
			<-c.Done()
			return c.Err()
		})
	}()
	<-entered
	sys.Root.StopFuture(pid).Wait()
	// The reply goes to the caller's future; what matters is that fn saw
	// its context end (else goleak fails the package) and the caller is
	// answered or times out with its ctx.
	select {
	case <-ended:
	case <-time.After(waitFor):
		t.Fatal("caller never answered")
	}
}

// The actor panics while the breaker is open; its one-for-one parent
// restarts it; the breaker is still open with the same counters, and the
// restarted actor still publishes transitions (exactly once each).
func TestRestartKeepsState(t *testing.T) {
	sys := actortest.NewSystem(t)
	ev := watchEvents(t, sys)
	mw, started := actortest.Crasher(8)
	b := cb.New("api", cb.Settings{FailureThreshold: 2, RecoveryTimeout: time.Hour})
	props := Props(b, Env{Events: sys.EventStream}).Configure(actor.WithReceiverMiddleware(mw))

	childPID := make(chan *actor.PID, 1)
	strategy := actor.NewOneForOneStrategy(10, time.Minute, func(any) actor.Directive { return actor.RestartDirective })
	parent := spawn(t, sys, actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			childPID <- c.Spawn(props)
		}
	}, actor.WithSupervisor(strategy)))
	_ = parent
	pid := <-childPID
	waitStart := func(n int32) {
		t.Helper()
		select {
		case got := <-started:
			if got != n {
				t.Fatalf("start %d, want %d", got, n)
			}
		case <-time.After(waitFor):
			t.Fatalf("no start %d", n)
		}
	}
	waitStart(1)

	ctx := bg(t)
	b.Call(ctx, ok)
	b.Call(ctx, fail)
	b.Call(ctx, fail) // opens
	b.Call(ctx, ok)   // rejected
	before, err := Stats(ctx, sys.Root, pid)
	if err != nil || before.State != cb.Open || before.Failures != 2 || before.Successes != 1 || before.Rejections != 1 {
		t.Fatalf("before: %+v %v", before, err)
	}

	sys.Root.Send(pid, &actortest.Crash{})
	waitStart(2)

	after, err := Stats(ctx, sys.Root, pid)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("stats changed across the restart:\nbefore %+v\nafter  %+v", before, after)
	}
	if err := Execute(ctx, sys.Root, pid, ok); !errors.Is(err, cb.ErrOpen) {
		t.Fatalf("after restart: %v", err)
	}
	if _, err := Close(ctx, sys.Root, pid); err != nil {
		t.Fatal(err)
	}
	if _, err := Stats(ctx, sys.Root, pid); err != nil { // barrier
		t.Fatal(err)
	}
	want := []string{"api closed>open:failure_threshold", "api open>closed:manual_close"}
	if got := ev.all(); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	select {
	case n := <-started:
		t.Fatalf("started a %dth time; want 2 starts", n)
	default:
	}
}

// A custom actor drives the breaker by PID: open it, see a call rejected,
// reset it, see a call pass.
func TestCustomActorDrivesBreaker(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := cb.New("svc", cb.Settings{})
	bpid := spawn(t, sys, Props(b, Env{}))
	report := make(chan string, 8)
	step := 0
	user := actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *actor.Started:
			c.Request(bpid, &OpenBreaker{})
		case *StatsResult:
			report <- m.Stats.State.String()
			c.Request(bpid, &Call{Fn: ok})
		case *CallResult:
			step++
			if step == 1 {
				report <- fmt.Sprintf("call open=%v", errors.Is(m.Err, cb.ErrOpen))
				c.Request(bpid, &ResetBreaker{})
				return
			}
			report <- fmt.Sprintf("call err=%v", m.Err)
		}
	})
	spawn(t, sys, user)
	var got []string
	for len(got) < 4 {
		select {
		case s := <-report:
			got = append(got, s)
		case <-time.After(waitFor):
			t.Fatalf("so far %q", got)
		}
	}
	want := []string{"open", "call open=true", "closed", "call err=<nil>"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if st := b.Stats(); st.Successes != 1 || st.Rejections != 0 || st.LastReason != cb.ReasonReset {
		t.Fatalf("%+v", st)
	}
}

func TestSettingsFromConfig(t *testing.T) {
	s, err := SettingsFromConfig(config.Breaker{
		FailureThreshold: 3, RecoveryTimeout: config.Duration(time.Second), CallTimeout: config.Duration(time.Millisecond),
		Mode: "rate", WindowType: "time", WindowSize: 7, WindowDuration: config.Duration(time.Minute), FailureRate: 25,
		MinimumCalls: 4, SlowCallThreshold: config.Duration(2 * time.Second), HalfOpenMaxCalls: 2, SuccessThreshold: 3,
		ProbeTimeout: config.Duration(5 * time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := cb.Settings{FailureThreshold: 3, RecoveryTimeout: time.Second, CallTimeout: time.Millisecond,
		Mode: cb.Rate, WindowType: cb.TimeWindow, WindowSize: 7, WindowDuration: time.Minute, FailureRate: 25,
		MinimumCalls: 4, SlowCallThreshold: 2 * time.Second, HalfOpenMaxCalls: 2, SuccessThreshold: 3,
		ProbeTimeout: 5 * time.Second}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("%+v", s)
	}
	if _, err := SettingsFromConfig(config.Breaker{Mode: "sometimes"}); !errors.Is(err, cb.ErrSettings) {
		t.Fatal(err)
	}
	if _, err := SettingsFromConfig(config.Breaker{FailureRate: 101}); !errors.Is(err, cb.ErrSettings) {
		t.Fatal(err)
	}
}

// Transitions made before the actor started are published once it starts.
func TestCatchUpBeforeStart(t *testing.T) {
	sys := actortest.NewSystem(t)
	ev := watchEvents(t, sys)
	b := cb.New("early", cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	props := Props(b, Env{Events: sys.EventStream})
	b.Call(context.Background(), fail) // no actor yet
	pid := spawn(t, sys, props)
	if got := ev.next(t); got != "early closed>open:failure_threshold" {
		t.Fatal(got)
	}
	if _, err := Stats(bg(t), sys.Root, pid); err != nil { // barrier
		t.Fatal(err)
	}
	if got := ev.all(); len(got) != 1 {
		t.Fatalf("events %q", got)
	}
}

// A restart stops the old instance's timer; the new instance arms its own,
// so the recovery is still published without any call.
func TestRestartRearmsRecoveryTimer(t *testing.T) {
	sys := actortest.NewSystem(t)
	ev := watchEvents(t, sys)
	mw, started := actortest.Crasher(8)
	b := cb.New("api", cb.Settings{FailureThreshold: 1, RecoveryTimeout: 100 * time.Millisecond})
	props := Props(b, Env{Events: sys.EventStream}).Configure(actor.WithReceiverMiddleware(mw))
	childPID := make(chan *actor.PID, 1)
	strategy := actor.NewOneForOneStrategy(10, time.Minute, func(any) actor.Directive { return actor.RestartDirective })
	spawn(t, sys, actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			childPID <- c.Spawn(props)
		}
	}, actor.WithSupervisor(strategy)))
	pid := <-childPID
	<-started
	b.Call(context.Background(), fail)
	if got := ev.next(t); got != "api closed>open:failure_threshold" {
		t.Fatal(got)
	}
	sys.Root.Send(pid, &actortest.Crash{})
	select {
	case <-started:
	case <-time.After(waitFor):
		t.Fatal("not restarted")
	}
	if got := ev.next(t); got != "api open>half_open:recovery_timeout" {
		t.Fatal(got)
	}
	if b.State() != cb.HalfOpen {
		t.Fatal(b.State())
	}
}

// Every transition reaches the event stream, in generation order, none
// missing, while many goroutines race to make them; each trip raises its
// Warning. (Before, the actor dropped a transition that its listener
// delivered after a newer one, so the stream skipped states.)
func TestEventsFollowEveryTransitionInOrder(t *testing.T) {
	sys := actortest.NewSystem(t)
	ev := watchEvents(t, sys)
	al := &alerts{ch: make(chan alert, 100000)}
	b := cb.New("race", cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Nanosecond, HalfOpenMaxCalls: 2})
	var mu sync.Mutex
	var want []string
	trips, criticals := 0, 0
	defer b.Subscribe(func(tr cb.Transition) {
		mu.Lock()
		want = append(want, fmt.Sprintf("race %s>%s:%s", tr.From, tr.To, tr.Reason))
		if tr.From == cb.Closed && tr.To == cb.Open && tr.Reason != cb.ReasonManualOpen {
			trips++
		}
		if tr.Reason == cb.ReasonProbeFailed && tr.FailedProbes%CriticalAfter == 0 {
			criticals++
		}
		mu.Unlock()
	})()
	pid := spawn(t, sys, Props(b, Env{Events: sys.EventStream, Alerts: al}))
	if _, err := Stats(bg(t), sys.Root, pid); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			ctx := context.Background()
			for i := range 400 {
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
	mu.Lock()
	n := len(want)
	mu.Unlock()
	if n < 200 {
		t.Fatalf("only %d transitions", n)
	}
	ctx := bg(t)
	// Count what comes through the channel, not what was recorded: the
	// subscriber records an event before it sends it, so stopping at n
	// recorded could leave it blocked on a full channel, and the actor
	// with it (the Stats barrier below then never answered).
	for received := 0; received < n; received++ {
		select {
		case <-ev.ch:
		case <-ctx.Done():
			t.Fatalf("%d events of %d transitions", len(ev.all()), n)
		}
	}
	// A transition can still come after the calls: the actor's own timer
	// ends the last open period (RecoveryTimeout 1ns), and its event is
	// published after a barrier sent before it. So: barrier, and wait for
	// one more event while the events trail the transitions.
	for {
		if _, err := Stats(ctx, sys.Root, pid); err != nil { // barrier: nothing more is queued
			t.Fatal(err)
		}
		mu.Lock()
		w := len(want)
		mu.Unlock()
		if len(ev.all()) >= w {
			break
		}
		select {
		case <-ev.ch:
		case <-ctx.Done():
			t.Fatalf("%d events of %d transitions", len(ev.all()), w)
		}
	}
	got := ev.all()
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("event %d = %q, want %q (%d events, %d transitions)", i, got[i], want[i], len(got), len(want))
			}
		}
		t.Fatalf("%d events, %d transitions", len(got), len(want))
	}
	warnings, crits := 0, 0
	for len(al.ch) > 0 {
		switch (<-al.ch).sev {
		case algedonic.Warning:
			warnings++
		case algedonic.Critical:
			crits++
		}
	}
	if warnings != trips || crits != criticals {
		t.Fatalf("%d Warnings and %d Criticals, want %d (one per trip) and %d", warnings, crits, trips, criticals)
	}
}

// A half-open probe whose caller lost its Token: the actor's timer ends the
// phase at ProbeTimeout, without any call, and it is counted.
func TestTimerExpiresLostProbe(t *testing.T) {
	sys := actortest.NewSystem(t)
	ev := watchEvents(t, sys)
	b := cb.New("lost", cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour, ProbeTimeout: 30 * time.Millisecond})
	pid := spawn(t, sys, Props(b, Env{Events: sys.EventStream}))
	b.Call(context.Background(), fail)
	if got := ev.next(t); got != "lost closed>open:failure_threshold" {
		t.Fatal(got)
	}
	b.HalfOpen()
	if got := ev.next(t); got != "lost open>half_open:recovery_timeout" {
		t.Fatal(got)
	}
	if _, err := b.Allow(); err != nil { // the Token is lost: no Done
		t.Fatal(err)
	}
	if got := ev.next(t); got != "lost half_open>open:probe_timeout" {
		t.Fatal(got)
	}
	st, err := Stats(bg(t), sys.Root, pid)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != cb.Open || st.ProbeTimeouts != 1 {
		t.Fatalf("after the probe timeout: %+v", st)
	}
}

// Events carry the transition's generation, so a subscriber can see the
// order for itself.
func TestEventsCarryGeneration(t *testing.T) {
	sys := actortest.NewSystem(t)
	got := make(chan *event.BreakerStateChanged, 8)
	sub := sys.EventStream.Subscribe(func(m any) {
		if e, ok := m.(*event.BreakerStateChanged); ok {
			got <- e
		}
	})
	defer sys.EventStream.Unsubscribe(sub)
	b := cb.New("gen", cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	pid := spawn(t, sys, Props(b, Env{Events: sys.EventStream, Alerts: &alerts{ch: make(chan alert, 8)}}))
	if _, err := Stats(bg(t), sys.Root, pid); err != nil {
		t.Fatal(err)
	}
	b.Call(context.Background(), fail) // closed > open
	b.Close()                          // open > closed
	b.Open()                           // closed > open, forced
	for i, want := range []string{"closed>open:1:false", "open>closed:2:false", "closed>open:3:true"} {
		select {
		case e := <-got:
			if s := fmt.Sprintf("%s>%s:%d:%v", e.From, e.To, e.Generation, e.Forced); s != want {
				t.Fatalf("event %d = %s, want %s", i, s, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no event %d", i)
		}
	}
}

// The actor's mailbox runs on a stack grown in advance (internal/dispatch):
// a handler with a few KB of frames does not make the runtime copy the
// stack mid-message, which cost a request/reply about 1 µs per hop.
func TestMailboxRunsOnGrownStack(t *testing.T) {
	sys := actortest.NewSystem(t)
	mw, moved := actortest.StackProber()
	b := cb.New("api", cb.Settings{})
	pid := spawn(t, sys, Props(b, Env{}).Configure(actor.WithReceiverMiddleware(mw)))
	ctx := bg(t)
	if st, err := Stats(ctx, sys.Root, pid); err != nil || st.Name != "api" {
		t.Fatalf("stats %+v, %v", st, err)
	}
	n, err := actortest.CountMoved(ctx, sys.Root, pid, moved, actortest.Probes)
	if err != nil || n > actortest.MaxMoved {
		t.Fatalf("the stack was grown during the handler in %d of %d probes (%v)", n, actortest.Probes, err)
	}
}
