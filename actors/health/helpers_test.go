package health

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

const waitFor = 10 * time.Second

var errBoom = errors.New("boom")

// fakeClock runs timers only when the test fires them. Every AfterFunc is
// reported on armed, in order, so a test reads each delay the checker
// chose.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*fakeTimer
	armed   chan time.Duration
}

type fakeTimer struct {
	c       *fakeClock
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), armed: make(chan time.Duration, 1024)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	t := &fakeTimer{c: c, f: f}
	c.mu.Lock()
	c.pending = append(c.pending, t)
	c.mu.Unlock()
	c.armed <- d
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// nextDelay waits for the next AfterFunc and returns its delay.
func (c *fakeClock) nextDelay(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.armed:
		return d
	case <-time.After(waitFor):
		t.Fatal("no timer armed")
		return 0
	}
}

// fire runs the latest live timer (advancing the clock is not needed: the
// checker reads delays, not the time, to schedule).
func (c *fakeClock) fire(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	var live *fakeTimer
	for i := len(c.pending) - 1; i >= 0; i-- {
		if !c.pending[i].stopped {
			live = c.pending[i]
			break
		}
	}
	if live != nil {
		live.stopped = true
	}
	c.mu.Unlock()
	if live == nil {
		t.Fatal("no live timer to fire")
	}
	live.f()
}

// recorder collects the checker's events, on the publisher's goroutine.
type recorder struct {
	results chan *event.HealthResult
	changes chan *event.HealthChanged
	alerts  chan string
}

func newRecorder(t *testing.T, sys *actor.ActorSystem) *recorder {
	r := &recorder{
		results: make(chan *event.HealthResult, 256),
		changes: make(chan *event.HealthChanged, 256),
		alerts:  make(chan string, 256),
	}
	sub := sys.EventStream.Subscribe(func(m any) {
		switch ev := m.(type) {
		case *event.HealthResult:
			r.results <- ev
		case *event.HealthChanged:
			r.changes <- ev
		}
	})
	t.Cleanup(func() { sys.EventStream.Unsubscribe(sub) })
	return r
}

// Raise implements algedonic.Raiser.
func (r *recorder) Raise(sev algedonic.Severity, source, reason string) {
	r.alerts <- fmt.Sprintf("%s %s", sev, source)
}

func (r *recorder) result(t *testing.T) *event.HealthResult {
	t.Helper()
	select {
	case ev := <-r.results:
		return ev
	case <-time.After(waitFor):
		t.Fatal("no health.result")
		return nil
	}
}

// drain returns what a channel holds now.
func drain[T any](ch chan T) []T {
	var out []T
	for {
		select {
		case v := <-ch:
			out = append(out, v)
		default:
			return out
		}
	}
}

// fixedRand returns vals in turn, then the last one forever.
func fixedRand(vals ...float64) func() float64 {
	var mu sync.Mutex
	i := 0
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		v := vals[min(i, len(vals)-1)]
		i++
		return v
	}
}

// harness is one checker under a real actor system with a fake clock.
type harness struct {
	sys   *actor.ActorSystem
	clock *fakeClock
	rec   *recorder
	c     *Checker
	pid   *actor.PID
}

func start(t *testing.T, spec Spec, env Env, middleware ...actor.ReceiverMiddleware) *harness {
	t.Helper()
	sys := actortest.NewSystem(t)
	h := &harness{sys: sys, clock: newFakeClock(), rec: newRecorder(t, sys)}
	env.Events = sys.EventStream
	if env.Alerts == nil {
		env.Alerts = h.rec
	}
	if env.Clock == nil {
		env.Clock = h.clock
	}
	if env.Rand == nil {
		env.Rand = fixedRand(0.5) // no jitter: factor 1, initial delay half of InitialJitter
	}
	c, err := NewChecker(spec, env)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	props := c.Props()
	if len(middleware) > 0 {
		props = props.Configure(actor.WithReceiverMiddleware(middleware...))
	}
	h.pid = sys.Root.Spawn(props)
	t.Cleanup(func() { _ = sys.Root.StopFuture(h.pid).Wait() })
	return h
}

// step fires the pending timer and returns the result of the probe it
// started and the delay armed after it.
func (h *harness) step(t *testing.T) (*event.HealthResult, time.Duration) {
	t.Helper()
	h.clock.fire(t)
	r := h.rec.result(t)
	return r, h.clock.nextDelay(t)
}

// statuses runs n probes and returns the status after each.
func (h *harness) statuses(t *testing.T, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		r, _ := h.step(t)
		out[i] = r.Status
	}
	return out
}

// scripted is a custom probe answering from a list of outcomes (nil:
// success), then succeeding.
func scripted(outcomes ...error) ProbeFunc {
	var mu sync.Mutex
	return func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if len(outcomes) == 0 {
			return nil
		}
		err := outcomes[0]
		outcomes = outcomes[1:]
		return err
	}
}

func changes(ch chan *event.HealthChanged) []string {
	var out []string
	for _, c := range drain(ch) {
		out = append(out, c.From+">"+c.To)
	}
	return out
}
