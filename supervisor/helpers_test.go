package supervisor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

const waitFor = 5 * time.Second

func quietSystem() *actor.ActorSystem { return actortest.NewSystem(nil) }

// recorder counts Started messages per worker name.
type recorder struct {
	mu     sync.Mutex
	starts map[string]int
	ch     chan string
}

func newRecorder() *recorder {
	return &recorder{starts: make(map[string]int), ch: make(chan string, 4096)}
}

func (r *recorder) started(name string) {
	r.mu.Lock()
	r.starts[name]++
	r.mu.Unlock()
	select {
	case r.ch <- name:
	default:
	}
}

func (r *recorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts[name]
}

// waitStarts waits until name has been started at least n times.
func (r *recorder) waitStarts(t *testing.T, name string, n int) {
	t.Helper()
	deadline := time.After(waitFor)
	for r.count(name) < n {
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("%s started %d times, want %d", name, r.count(name), n)
		}
	}
}

type crash struct{ reason any }
type inc struct{}
type get struct{}
type ping struct{}
type selfStop struct{}

// worker counts inc messages in state a restart must wipe.
type worker struct {
	name     string
	rec      *recorder
	crashing *atomic.Bool // panic in Started while set
	count    int
}

func (w *worker) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		w.rec.started(w.name)
		if w.crashing != nil && w.crashing.Load() {
			panic("crash on start")
		}
	case *crash:
		panic(m.reason)
	case *inc:
		w.count++
	case *get:
		ctx.Respond(w.count)
	case *ping:
		ctx.Respond("pong " + w.name)
	case *selfStop:
		ctx.Stop(ctx.Self())
	}
}

func workerSpec(rec *recorder, name string) ChildSpec {
	return Worker(name, actor.PropsFromProducer(func() actor.Actor { return &worker{name: name, rec: rec} }))
}

// events collects every event published on a stream.
type events struct {
	sub    *event.Subscription
	mu     sync.Mutex
	all    []event.Event
	notify chan struct{}
}

func collect(t *testing.T, sys *actor.ActorSystem) *events {
	e := &events{notify: make(chan struct{}, 1)}
	e.sub = event.Subscribe(sys.EventStream, func(ev event.Event) {
		e.mu.Lock()
		e.all = append(e.all, ev)
		e.mu.Unlock()
		select {
		case e.notify <- struct{}{}:
		default:
		}
	}, event.WithBuffer(1<<16))
	t.Cleanup(func() { e.sub.Cancel(); e.sub.Wait() })
	return e
}

func (e *events) matching(keep func(event.Event) bool) []event.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []event.Event
	for _, ev := range e.all {
		if keep(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// wait returns the matching events once there are at least n of them.
func (e *events) wait(t *testing.T, n int, keep func(event.Event) bool) []event.Event {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		if got := e.matching(keep); len(got) >= n {
			return got
		}
		select {
		case <-e.notify:
		case <-deadline:
			t.Fatalf("got %d matching events, want %d; all: %s", len(e.matching(keep)), n, e.dump())
		}
	}
}

func (e *events) dump() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := ""
	for _, ev := range e.all {
		s += fmt.Sprintf("\n  %s %+v", ev.Kind(), ev)
	}
	return s
}

func restartedOf(sup string) func(event.Event) bool {
	return func(ev event.Event) bool {
		r, ok := ev.(*event.ActorRestarted)
		return ok && r.Supervisor == sup
	}
}

func restartedName(name string) func(event.Event) bool {
	return func(ev event.Event) bool {
		r, ok := ev.(*event.ActorRestarted)
		return ok && r.Name == name
	}
}

func startedName(name string) func(event.Event) bool {
	return func(ev event.Event) bool {
		r, ok := ev.(*event.ActorStarted)
		return ok && r.Name == name
	}
}

func stoppedName(name string) func(event.Event) bool {
	return func(ev event.Event) bool {
		r, ok := ev.(*event.ActorStopped)
		return ok && r.Name == name
	}
}

func isEscalated(ev event.Event) bool { _, ok := ev.(*event.SupervisionEscalated); return ok }

// alerts records raised alerts.
type alerts struct {
	mu  sync.Mutex
	all []algedonic.Alert
	ch  chan algedonic.Alert
}

func newAlerts() *alerts { return &alerts{ch: make(chan algedonic.Alert, 64)} }

func (a *alerts) Raise(sev algedonic.Severity, source, reason string) {
	al := algedonic.Alert{Severity: sev, Source: source, Reason: reason}
	a.mu.Lock()
	a.all = append(a.all, al)
	a.mu.Unlock()
	a.ch <- al
}

func (a *alerts) next(t *testing.T) algedonic.Alert {
	t.Helper()
	select {
	case al := <-a.ch:
		return al
	case <-time.After(waitFor):
		t.Fatal("no alert raised")
		return algedonic.Alert{}
	}
}

func (a *alerts) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.all)
}

// fakeClock is a manual clock: time moves with Advance, timers fire with
// Fire.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	added  chan *fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	d       time.Duration
	f       func()
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), added: make(chan *fakeTimer, 64)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) timer {
	t := &fakeTimer{c: c, d: d, f: f}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	c.added <- t
	return t
}

func (c *fakeClock) nextTimer(t *testing.T) *fakeTimer {
	t.Helper()
	select {
	case tm := <-c.added:
		return tm
	case <-time.After(waitFor):
		t.Fatal("no timer started")
		return nil
	}
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

func (t *fakeTimer) isStopped() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.stopped
}

// Fire runs the timer's function unless it was stopped.
func (t *fakeTimer) Fire() bool {
	t.c.mu.Lock()
	if t.stopped || t.fired {
		t.c.mu.Unlock()
		return false
	}
	t.fired = true
	t.c.mu.Unlock()
	t.f()
	return true
}

// tree is a node root (TopLevel, wall clock) with the supervisor under test
// below it at path "sut", so that escalations from "sut" are handled by one
// of ours (protoactor ignores supervisors of top-level actors).
type tree struct {
	t      *testing.T
	sys    *actor.ActorSystem
	env    Env
	root   *actor.PID
	events *events
	alerts *alerts
	rec    *recorder
}

func newTree(t *testing.T, rootCfg Config, sutCfg Config, children func(*recorder) []ChildSpec, siblings ...func(*recorder) ChildSpec) *tree {
	t.Helper()
	sys := quietSystem()
	tr := &tree{t: t, sys: sys, events: collect(t, sys), alerts: newAlerts(), rec: newRecorder()}
	tr.env = Env{Directory: NewDirectory(), Events: sys.EventStream, Alerts: tr.alerts}
	rootCfg.TopLevel = true
	specs := []ChildSpec{SupervisorChild("", "sut", sutCfg, tr.env, children(tr.rec)...)}
	for _, s := range siblings {
		specs = append(specs, s(tr.rec))
	}
	pid, err := sys.Root.SpawnNamed(Props("", rootCfg, tr.env, specs...), "node")
	if err != nil {
		t.Fatal(err)
	}
	tr.root = pid
	t.Cleanup(func() {
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Errorf("stop root: %v", err)
		}
	})
	// A request is handled after Started, so the tree is spawned once both
	// answer.
	tr.list("")
	tr.list("sut")
	return tr
}

func (tr *tree) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	tr.t.Cleanup(cancel)
	return ctx
}

func (tr *tree) pid(name string) *actor.PID {
	tr.t.Helper()
	pid, ok := tr.env.Directory.Lookup(name)
	if !ok {
		tr.t.Fatalf("%q not in directory %v", name, tr.env.Directory.Names())
	}
	return pid
}

func (tr *tree) list(sup string) []ChildInfo {
	tr.t.Helper()
	pid := tr.root
	if sup != "" {
		pid = tr.pid(sup)
	}
	cs, err := List(tr.ctx(), tr.sys.Root, pid)
	if err != nil {
		tr.t.Fatalf("list %q: %v", sup, err)
	}
	return cs
}

func (tr *tree) crash(name string, reason any) {
	tr.sys.Root.Send(tr.pid(name), &crash{reason: reason})
}

// ping round-trips a request to name; after it returns, every system
// message sent to name before the call (Restart) has been handled.
func (tr *tree) ping(name string) string {
	tr.t.Helper()
	res, err := tr.sys.Root.RequestFuture(tr.pid(name), &ping{}, waitFor).Result()
	if err != nil {
		tr.t.Fatalf("ping %s: %v", name, err)
	}
	return res.(string)
}

func three(rec *recorder) []ChildSpec {
	return []ChildSpec{workerSpec(rec, "a"), workerSpec(rec, "b"), workerSpec(rec, "c")}
}
