package supervisor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
)

// lifeLog is one ordered log of the lifecycle of several actors.
type lifeLog struct {
	mu      sync.Mutex
	entries []string
	notify  chan struct{}
}

func newLifeLog() *lifeLog { return &lifeLog{notify: make(chan struct{}, 1)} }

func (l *lifeLog) add(e string) {
	l.mu.Lock()
	l.entries = append(l.entries, e)
	l.mu.Unlock()
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

func (l *lifeLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries)
}

// since returns the entries from index i on, once there are at least n of
// them.
func (l *lifeLog) since(t *testing.T, i, n int) []string {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		if all := l.all(); len(all)-i >= n {
			return all[i:]
		}
		select {
		case <-l.notify:
		case <-deadline:
			t.Fatalf("log has %d entries after %d, want %d: %q", len(l.all())-i, i, n, l.all()[i:])
		}
	}
}

// gate blocks a lifeWorker's Started while armed, so a test can look at what
// happens while one start is slow.
type gate struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 1), release: make(chan struct{})} }

type (
	exit      struct{}                        // the worker stops itself: a normal exit
	hold      struct{ release chan struct{} } // the worker blocks until released
	lifeCount struct{}
)

// lifeWorker logs "start X" when it has handled Started, "stop X" on
// Stopping, "restarting X" on Restarting, and "msg X" for each lifeCount.
type lifeWorker struct {
	name       string
	log        *lifeLog
	gate       *gate
	crashStart *atomic.Bool // panic in Started once, when set
}

func (w *lifeWorker) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		if w.gate != nil && w.gate.armed.CompareAndSwap(true, false) {
			w.gate.entered <- struct{}{}
			<-w.gate.release
		}
		if w.crashStart != nil && w.crashStart.CompareAndSwap(true, false) {
			w.log.add("boom " + w.name)
			panic("crash on start")
		}
		w.log.add("start " + w.name)
	case *actor.Stopping:
		w.log.add("stop " + w.name)
	case *actor.Restarting:
		w.log.add("restarting " + w.name)
	case *crash:
		panic(m.reason)
	case *exit:
		ctx.Stop(ctx.Self())
	case *hold:
		<-m.release
	case *lifeCount:
		w.log.add("msg " + w.name)
	case *ping:
		ctx.Respond("pong " + w.name)
	}
}

func lifeSpec(log *lifeLog, name string, g *gate) ChildSpec {
	return Worker(name, actor.PropsFromProducer(func() actor.Actor { return &lifeWorker{name: name, log: log, gate: g} }))
}

// spawnTree starts a TopLevel node root with the given children; the test
// then waits for the supervisors it uses with tr.list.
func spawnTree(t *testing.T, rootCfg Config, children func(env Env) []ChildSpec) *tree {
	t.Helper()
	sys := quietSystem()
	tr := &tree{t: t, sys: sys, events: collect(t, sys), alerts: newAlerts(), rec: newRecorder()}
	tr.env = Env{Directory: NewDirectory(), Events: sys.EventStream, Alerts: tr.alerts}
	rootCfg.TopLevel = true
	pid, err := sys.Root.SpawnNamed(Props("", rootCfg, tr.env, children(tr.env)...), "node")
	if err != nil {
		t.Fatal(err)
	}
	tr.root = pid
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait() })
	tr.list("")
	return tr
}

func (tr *tree) send(name string, msg any) { tr.sys.Root.Send(tr.pid(name), msg) }

// stopAsync sends StopChild to the root; await waits for its reply.
func (tr *tree) stopAsync(name string) *actor.Future {
	return tr.sys.Root.RequestFuture(tr.root, &StopChild{Name: name}, waitFor)
}

func await(t *testing.T, f *actor.Future) {
	t.Helper()
	res, err := f.Result()
	if err != nil {
		t.Fatal(err)
	}
	if r := res.(*StopChildResult); r.Err != nil {
		t.Fatal(r.Err)
	}
}

// sync returns once the root has handled every message sent to it before:
// a supervisor answers Touch at once after its initial start.
func (tr *tree) sync() {
	tr.t.Helper()
	if _, err := tr.sys.Root.RequestFuture(tr.root, &actor.Touch{}, waitFor).Result(); err != nil {
		tr.t.Fatal(err)
	}
}

func ofKind[T event.Event](ev event.Event) bool { _, ok := ev.(T); return ok }

// Item 1: the intensity is the supervisor's. Three children crashing once
// each exceed MaxRestarts 2: the supervisor stops all of them in reverse
// start order, escalates (Critical alert), and its parent restarts it.
// With per-child counting (the old behaviour) nothing escalated.
func TestIntensityCountsEveryChildOfTheSupervisor(t *testing.T) {
	log := newLifeLog()
	clk := newFakeClock()
	tr := spawnTree(t, Config{}, func(env Env) []ChildSpec {
		return []ChildSpec{SupervisorChild("", "sut", Config{MaxRestarts: 2, Window: 5 * time.Second, clock: clk}, env,
			lifeSpec(log, "a", nil), lifeSpec(log, "b", nil), lifeSpec(log, "c", nil))}
	})
	tr.list("sut")
	if got := log.since(t, 0, 3); !slices.Equal(got, []string{"start a", "start b", "start c"}) {
		t.Fatalf("initial starts %q", got)
	}
	for i, name := range []string{"a", "b"} {
		tr.crash("sut/"+name, "boom")
		tr.events.wait(t, i+1, restartedOf("sut"))
		log.since(t, 3+2*i, 2) // restarting X, start X
	}
	mark := len(log.all())
	tr.crash("sut/c", "boom") // the third restart in the window: one too many
	al := tr.alerts.next(t)
	if al.Severity != algedonic.Critical || al.Source != "sut" || !strings.Contains(al.Reason, "gave up on sut/c after 2 restarts in 5s") {
		t.Fatalf("alert = %+v", al)
	}
	esc := tr.events.wait(t, 1, isEscalated)[0].(*event.SupervisionEscalated)
	if esc.Supervisor != "sut" || esc.Child != "sut/c" || esc.Restarts != 2 || esc.Window != 5*time.Second {
		t.Fatalf("escalated = %+v", esc)
	}
	// Stopped in reverse start order (c is the crashed instance), then the
	// root restarts sut, which starts a, b, c again in order.
	want := []string{"stop c", "stop b", "stop a", "start a", "start b", "start c"}
	if got := log.since(t, mark, len(want)); !slices.Equal(got, want) {
		t.Fatalf("after the give-up: %q, want %q", got, want)
	}
	rs := tr.events.wait(t, 1, restartedName("sut"))[0].(*event.ActorRestarted)
	if rs.Supervisor != "" || !strings.Contains(rs.Reason, "supervisor sut gave up on sut/c") {
		t.Fatalf("sut restart = %+v", rs)
	}
	var how []string
	for _, e := range tr.events.matching(ofKind[*event.ActorShutdown]) {
		s := e.(*event.ActorShutdown)
		how = append(how, s.Name+" "+s.How)
	}
	if !slices.Equal(how, []string{"sut/c crashed", "sut/b graceful", "sut/a graceful"}) {
		t.Fatalf("shutdowns %q", how)
	}
	if n := len(tr.events.matching(isEscalated)); n != 1 {
		t.Fatalf("%d escalations, want 1", n)
	}
}

// Item 1, option: IntensityPerChild keeps counting each child on its own.
func TestIntensityPerChildOption(t *testing.T) {
	tr := newTree(t, Config{}, Config{MaxRestarts: 2, IntensityPerChild: true, clock: newFakeClock()}, three)
	for i, name := range []string{"a", "b", "c", "a", "b", "c"} {
		tr.crash("sut/"+name, "boom")
		tr.events.wait(t, i+1, restartedOf("sut"))
	}
	for _, n := range []string{"a", "b", "c"} {
		tr.ping("sut/" + n)
	}
	if n := len(tr.events.matching(isEscalated)); n != 0 || tr.alerts.count() != 0 {
		t.Fatalf("per-child intensity escalated: %d events, %d alerts", n, tr.alerts.count())
	}
	tr.crash("sut/a", "boom") // a's third failure
	if esc := tr.events.wait(t, 1, isEscalated)[0].(*event.SupervisionEscalated); esc.Child != "sut/a" || esc.Restarts != 2 {
		t.Fatalf("escalated = %+v", esc)
	}
}

// Item 1: the node's defaults feed the supervisors unchanged.
func TestNodeSupervisionDefaultsAgree(t *testing.T) {
	s := config.Default().Supervision
	if s.MaxRestarts != DefaultMaxRestarts || s.Window.D() != DefaultWindow || s.BackoffMax.D() != DefaultBackoffMax {
		t.Fatalf("config supervision defaults %+v, supervisor defaults %d in %s, backoff max %s",
			s, DefaultMaxRestarts, DefaultWindow, DefaultBackoffMax)
	}
}

// Item 2: all-for-one and rest-for-one stop the affected children in
// reverse start order, then start them one at a time in start order, each
// once the previous one has handled Started (b's start is slow).
func TestOrderedRestarts(t *testing.T) {
	cases := []struct {
		strategy Strategy
		fail     string
		want     []string
	}{
		{AllForOne, "c", []string{"stop d", "stop c", "stop b", "stop a", "start a", "start b", "start c", "start d"}},
		{RestForOne, "b", []string{"stop d", "stop c", "stop b", "start b", "start c", "start d"}},
	}
	for _, tc := range cases {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			log := newLifeLog()
			g := newGate()
			tr := spawnTree(t, Config{}, func(env Env) []ChildSpec {
				return []ChildSpec{SupervisorChild("", "sut", Config{Strategy: tc.strategy}, env,
					lifeSpec(log, "a", nil), lifeSpec(log, "b", g), lifeSpec(log, "c", nil), lifeSpec(log, "d", nil))}
			})
			tr.list("sut")
			if got := log.since(t, 0, 4); !slices.Equal(got, []string{"start a", "start b", "start c", "start d"}) {
				t.Fatalf("initial starts %q", got)
			}
			g.armed.Store(true)
			tr.crash("sut/"+tc.fail, "boom")
			select {
			case <-g.entered:
			case <-time.After(waitFor):
				t.Fatal("b not restarted")
			}
			// b is in its Started: nobody after it may have begun.
			i := slices.Index(tc.want, "start b")
			if got := log.since(t, 4, i); !slices.Equal(got, tc.want[:i]) {
				t.Fatalf("before b's start finished: %q, want %q", got, tc.want[:i])
			}
			if cs := tr.list("sut"); cs[2].State == "running" || cs[3].State == "running" {
				t.Fatalf("c or d running while b starts: %+v", cs)
			}
			close(g.release)
			if got := log.since(t, 4, len(tc.want)); !slices.Equal(got, tc.want) {
				t.Fatalf("restart sequence %q, want %q", got, tc.want)
			}
			if got := log.all()[4:]; len(got) != len(tc.want) {
				t.Fatalf("extra lifecycle entries: %q", got)
			}
			for _, n := range []string{"a", "b", "c", "d"} {
				tr.ping("sut/" + n)
			}
		})
	}
}

// Item 3, permanent: a child that stops itself is restarted, and that
// counts toward the intensity. It used to be left stopped.
func TestPermanentChildIsRestartedAfterNormalExit(t *testing.T) {
	log := newLifeLog()
	tr := spawnTree(t, Config{}, func(env Env) []ChildSpec {
		return []ChildSpec{SupervisorChild("", "sut", Config{MaxRestarts: 1, Window: time.Hour}, env,
			lifeSpec(log, "a", nil), lifeSpec(log, "b", nil))}
	})
	tr.list("sut")
	tr.send("sut/a", &exit{})
	r := tr.events.wait(t, 1, restartedName("sut/a"))[0].(*event.ActorRestarted)
	if r.Reason != "exited" || r.Restarts != 1 {
		t.Fatalf("restart = %+v", r)
	}
	if got := log.since(t, 2, 2); !slices.Equal(got, []string{"stop a", "start a"}) {
		t.Fatalf("log %q", got)
	}
	if tr.ping("sut/a") != "pong a" {
		t.Fatal("a not back")
	}
	tr.send("sut/b", &exit{}) // the second restart in the window: give up
	if esc := tr.events.wait(t, 1, isEscalated)[0].(*event.SupervisionEscalated); esc.Child != "sut/b" || esc.Reason != "exited" {
		t.Fatalf("escalated = %+v", esc)
	}
}

// Item 3, transient: restarted after a failure, not after a normal exit.
func TestTransientChild(t *testing.T) {
	log := newLifeLog()
	tr := spawnTree(t, Config{}, func(env Env) []ChildSpec {
		tr := lifeSpec(log, "t", nil)
		tr.Restart = Transient
		return []ChildSpec{SupervisorChild("", "sut", Config{}, env, lifeSpec(log, "a", nil), tr)}
	})
	tr.list("sut")
	tr.crash("sut/t", "boom")
	if r := tr.events.wait(t, 1, restartedName("sut/t"))[0].(*event.ActorRestarted); r.Reason != "boom" {
		t.Fatalf("restart = %+v", r)
	}
	tr.ping("sut/t")
	tr.send("sut/t", &exit{})
	st := tr.events.wait(t, 1, stoppedName("sut/t"))[0].(*event.ActorStopped)
	if st.Reason != "stopped" {
		t.Fatalf("stopped = %+v", st)
	}
	if cs := tr.list("sut"); len(cs) != 1 || cs[0].Name != "a" {
		t.Fatalf("children = %+v", cs)
	}
	if n := len(tr.events.matching(restartedName("sut/t"))); n != 1 {
		t.Fatalf("%d restarts of t, want 1", n)
	}
	if _, ok := tr.env.Directory.Lookup("sut/t"); ok {
		t.Fatal("exited transient child still registered")
	}
}

// Item 3, temporary: never restarted, neither after its own failure nor
// when a sibling's failure restarts the rest; it is stopped and forgotten.
func TestTemporaryChildIsNeverRestarted(t *testing.T) {
	log := newLifeLog()
	temp := func(name string) ChildSpec {
		s := lifeSpec(log, name, nil)
		s.Restart = Temporary
		return s
	}
	tr := spawnTree(t, Config{}, func(env Env) []ChildSpec {
		return []ChildSpec{SupervisorChild("", "sut", Config{Strategy: RestForOne}, env,
			temp("x"), lifeSpec(log, "a", nil), temp("y"), lifeSpec(log, "b", nil))}
	})
	tr.list("sut")
	log.since(t, 0, 4)
	tr.crash("sut/x", "boom")
	if st := tr.events.wait(t, 1, stoppedName("sut/x"))[0].(*event.ActorStopped); st.Reason != "failed: boom" {
		t.Fatalf("x stopped = %+v", st)
	}
	tr.crash("sut/a", "boom") // rest-for-one: a, y, b; y is left out
	tr.events.wait(t, 2, restartedOf("sut"))
	want := []string{"stop x", "stop b", "stop y", "stop a", "start a", "start b"}
	if got := log.since(t, 4, len(want)); !slices.Equal(got, want) {
		t.Fatalf("log %q, want %q", got, want)
	}
	if st := tr.events.wait(t, 1, stoppedName("sut/y"))[0].(*event.ActorStopped); !strings.Contains(st.Reason, "temporary, not restarted") {
		t.Fatalf("y stopped = %+v", st)
	}
	var names []string
	for _, c := range tr.list("sut") {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("children %v", names)
	}
	var restarted []string
	for _, e := range tr.events.matching(restartedOf("sut")) {
		restarted = append(restarted, e.(*event.ActorRestarted).Name)
	}
	if !slices.Equal(restarted, []string{"sut/a", "sut/b"}) {
		t.Fatalf("restarted %v", restarted)
	}
}

// Item 3, shutdown: a graceful stop lets the child handle what is queued
// before it (protoactor Poison), and is reported as graceful.
func TestShutdownIsGracefulFirst(t *testing.T) {
	log := newLifeLog()
	tr := spawnTree(t, Config{}, func(env Env) []ChildSpec {
		return []ChildSpec{lifeSpec(log, "a", nil)}
	})
	log.since(t, 0, 1)
	rel := make(chan struct{})
	tr.send("a", &hold{release: rel})
	for range 3 {
		tr.send("a", &lifeCount{})
	}
	f := tr.stopAsync("a")
	close(rel)
	await(t, f)
	if got := log.all()[1:]; !slices.Equal(got, []string{"msg a", "msg a", "msg a", "stop a"}) {
		t.Fatalf("log %q: queued messages not handled before the stop", got)
	}
	sd := tr.events.wait(t, 1, ofKind[*event.ActorShutdown])[0].(*event.ActorShutdown)
	if sd.Name != "a" || sd.How != "graceful" || sd.Timeout != DefaultShutdown {
		t.Fatalf("shutdown = %+v", sd)
	}
}

// Item 3, shutdown: past its timeout the child is stopped (queued messages
// dropped), and the event says forced.
func TestShutdownTimeoutForcesTheStop(t *testing.T) {
	log := newLifeLog()
	clk := newFakeClock()
	tr := spawnTree(t, Config{clock: clk}, func(env Env) []ChildSpec {
		s := lifeSpec(log, "a", nil)
		s.Shutdown = 200 * time.Millisecond
		return []ChildSpec{s}
	})
	log.since(t, 0, 1)
	rel := make(chan struct{})
	tr.send("a", &hold{release: rel})
	tr.send("a", &lifeCount{})
	f := tr.stopAsync("a")
	tm := clk.nextTimer(t)
	if tm.d != 200*time.Millisecond {
		t.Fatalf("shutdown timer %v, want 200ms", tm.d)
	}
	tm.Fire()
	// The forced Stop is a system message: handled as soon as a is done
	// with hold, before the queued lifeCount and the poison.
	tr.sync() // the supervisor has handled the timeout
	close(rel)
	await(t, f)
	if got := log.all()[1:]; !slices.Equal(got, []string{"stop a"}) {
		t.Fatalf("log %q, want the queued message dropped", got)
	}
	sd := tr.events.wait(t, 1, ofKind[*event.ActorShutdown])[0].(*event.ActorShutdown)
	if sd.How != "forced" || sd.Timeout != 200*time.Millisecond {
		t.Fatalf("shutdown = %+v", sd)
	}
}

// Item 3, shutdown: brutal_kill stops at once, dropping queued messages.
func TestShutdownBrutalKill(t *testing.T) {
	log := newLifeLog()
	clk := newFakeClock()
	tr := spawnTree(t, Config{clock: clk}, func(env Env) []ChildSpec {
		s := lifeSpec(log, "a", nil)
		s.Shutdown = ShutdownBrutalKill
		return []ChildSpec{s}
	})
	log.since(t, 0, 1)
	rel := make(chan struct{})
	tr.send("a", &hold{release: rel})
	tr.send("a", &lifeCount{})
	f := tr.stopAsync("a")
	tr.sync() // the Stop is sent
	close(rel)
	await(t, f)
	if got := log.all()[1:]; !slices.Equal(got, []string{"stop a"}) {
		t.Fatalf("log %q", got)
	}
	if sd := tr.events.wait(t, 1, ofKind[*event.ActorShutdown])[0].(*event.ActorShutdown); sd.How != "brutal_kill" || sd.Timeout != 0 {
		t.Fatalf("shutdown = %+v", sd)
	}
	select {
	case tm := <-clk.added:
		t.Fatalf("a brutal kill armed a %v timer", tm.d)
	default:
	}
}

// Item 3, significant: a significant child must not be permanent, and needs
// an auto_shutdown other than never.
func TestSignificantSpecValidation(t *testing.T) {
	tr := spawnTree(t, Config{}, func(env Env) []ChildSpec {
		return []ChildSpec{SupervisorChild("", "auto", Config{AutoShutdown: AnySignificant}, env)}
	})
	auto := tr.pid("auto")
	tr.list("auto")
	props := actor.PropsFromFunc(func(actor.Context) {})
	if _, err := Start(tr.ctx(), tr.sys.Root, auto, ChildSpec{Name: "p", Props: props, Significant: true}); !errors.Is(err, ErrInvalidSpec) ||
		!strings.Contains(err.Error(), "permanent") {
		t.Fatalf("significant permanent: %v", err)
	}
	if _, err := Start(tr.ctx(), tr.sys.Root, tr.root, ChildSpec{Name: "n", Props: props, Significant: true, Restart: Transient}); !errors.Is(err, ErrInvalidSpec) ||
		!strings.Contains(err.Error(), "never") {
		t.Fatalf("significant under auto_shutdown never: %v", err)
	}
	if _, err := Start(tr.ctx(), tr.sys.Root, auto, ChildSpec{Name: "ok", Props: props, Significant: true, Restart: Temporary}); err != nil {
		t.Fatalf("significant temporary: %v", err)
	}
	if _, err := ParseRestart("sometimes"); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("ParseRestart: %v", err)
	}
}

// autoTree is a root with "sut" (transient, so that its normal exit is
// final) holding a, then the given children.
func autoTree(t *testing.T, log *lifeLog, mode AutoShutdown, kids ...ChildSpec) *tree {
	tr := spawnTree(t, Config{}, func(env Env) []ChildSpec {
		sut := SupervisorChild("", "sut", Config{AutoShutdown: mode}, env, append([]ChildSpec{lifeSpec(log, "a", nil)}, kids...)...)
		sut.Restart = Transient
		return []ChildSpec{sut}
	})
	tr.list("sut")
	log.since(t, 0, 1+len(kids))
	return tr
}

func significant(log *lifeLog, name string, r Restart) ChildSpec {
	s := lifeSpec(log, name, nil)
	s.Restart, s.Significant = r, true
	return s
}

// Item 3, any_significant: a significant transient child exiting normally
// ends the supervisor: its other children are stopped in reverse order,
// then it exits normally (its transient spec is not restarted by the root).
// A failure of that child is an ordinary restart.
func TestAutoShutdownAnySignificant(t *testing.T) {
	log := newLifeLog()
	tr := autoTree(t, log, AnySignificant, significant(log, "s", Transient), lifeSpec(log, "b", nil))
	tr.crash("sut/s", "boom")
	tr.events.wait(t, 1, restartedName("sut/s"))
	tr.ping("sut/s")
	mark := len(log.all())
	tr.send("sut/s", &exit{})
	st := tr.events.wait(t, 1, stoppedName("sut"))[0].(*event.ActorStopped)
	if st.Reason != "stopped" || st.Supervisor != "" {
		t.Fatalf("sut stopped = %+v", st)
	}
	if got := log.since(t, mark, 3); !slices.Equal(got, []string{"stop s", "stop b", "stop a"}) {
		t.Fatalf("log %q", got)
	}
	if r := tr.events.wait(t, 1, stoppedName("sut/b"))[0].(*event.ActorStopped); !strings.Contains(r.Reason, "auto shutdown (any_significant): significant child s terminated") {
		t.Fatalf("b stopped = %+v", r)
	}
	if cs := tr.list(""); len(cs) != 0 || len(tr.events.matching(restartedName("sut"))) != 0 {
		t.Fatalf("root children %+v after sut's auto shutdown", cs)
	}
}

// Item 3, all_significant: the supervisor ends only when every significant
// child has terminated by itself; a temporary one counts when it fails.
func TestAutoShutdownAllSignificant(t *testing.T) {
	log := newLifeLog()
	tr := autoTree(t, log, AllSignificant, significant(log, "s1", Transient), significant(log, "s2", Temporary))
	tr.send("sut/s1", &exit{})
	tr.events.wait(t, 1, stoppedName("sut/s1"))
	if cs := tr.list("sut"); len(cs) != 2 {
		t.Fatalf("children after one significant exit = %+v", cs)
	}
	tr.crash("sut/s2", "boom")
	tr.events.wait(t, 1, stoppedName("sut"))
	if a := tr.events.wait(t, 1, stoppedName("sut/a"))[0].(*event.ActorStopped); !strings.Contains(a.Reason, "all_significant") {
		t.Fatalf("a stopped = %+v", a)
	}
	if n := len(tr.events.matching(restartedOf("sut"))); n != 0 {
		t.Fatalf("%d restarts", n)
	}
}

// Item 2: the initial start is sequential too, a child supervisor's start
// is finished once its own children have started, and StartChild answers
// once the new child has started, after the starts before it.
func TestStartsAreSequentialAndStartChildWaits(t *testing.T) {
	log := newLifeLog()
	g := newGate()
	g.armed.Store(true)
	sys := quietSystem()
	env := Env{Directory: NewDirectory(), Events: sys.EventStream}
	pid, err := sys.Root.SpawnNamed(Props("", Config{TopLevel: true}, env,
		SupervisorChild("", "sut", Config{}, env, lifeSpec(log, "a", nil), lifeSpec(log, "b", g), lifeSpec(log, "c", nil)),
		lifeSpec(log, "w", nil)), "node")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait() })
	select {
	case <-g.entered:
	case <-time.After(waitFor):
		t.Fatal("b not started")
	}
	sut, _ := env.Directory.Lookup("sut")
	type res struct {
		pid *actor.PID
		err error
	}
	started := make(chan res, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		p, err := Start(ctx, sys.Root, sut, lifeSpec(log, "d", nil))
		started <- res{p, err}
	}()
	if got := log.all(); !slices.Equal(got, []string{"start a"}) {
		t.Fatalf("while b starts: %q", got)
	}
	for _, n := range []string{"sut/c", "w"} {
		if _, ok := env.Directory.Lookup(n); ok {
			t.Fatalf("%s spawned while b was starting", n)
		}
	}
	select {
	case r := <-started:
		t.Fatalf("StartChild answered before the child started: %+v", r)
	default:
	}
	close(g.release)
	r := <-started
	if r.err != nil || !r.pid.Equal(actor.NewPID(sut.Address, sut.Id+"/d")) {
		t.Fatalf("Start = %v, %v", r.pid, r.err)
	}
	got := log.since(t, 0, 5)
	if !slices.Contains(got, "start d") {
		t.Fatalf("StartChild answered before d handled Started: %q", got)
	}
	ofSut := slices.DeleteFunc(slices.Clone(got), func(e string) bool { return e == "start w" })
	if !slices.Equal(ofSut, []string{"start a", "start b", "start c", "start d"}) {
		t.Fatalf("sut's starts %q", ofSut)
	}
	if i := slices.Index(got, "start w"); i >= 0 && i < slices.Index(got, "start c") {
		t.Fatalf("w started before sut had finished: %q", got)
	}
}

// Item 2: a child failing in Started during a group restart does not stall
// it: the rest start, then the failure is restarted by the strategy.
func TestFailureDuringOrderedRestart(t *testing.T) {
	log := newLifeLog()
	var boom atomic.Bool
	tr := spawnTree(t, Config{}, func(env Env) []ChildSpec {
		b := Worker("b", actor.PropsFromProducer(func() actor.Actor { return &lifeWorker{name: "b", log: log, crashStart: &boom} }))
		return []ChildSpec{SupervisorChild("", "sut", Config{Strategy: RestForOne}, env, lifeSpec(log, "a", nil), b, lifeSpec(log, "c", nil))}
	})
	tr.list("sut")
	log.since(t, 0, 3)
	boom.Store(true)
	tr.crash("sut/b", "boom")
	want := []string{"stop c", "stop b", "boom b", "start c", "stop c", "stop b", "start b", "start c"}
	if got := log.since(t, 3, len(want)); !slices.Equal(got, want) {
		t.Fatalf("log %q, want %q", got, want)
	}
	tr.events.wait(t, 4, restartedOf("sut"))
	// The last restart's Started acknowledgement can reach sut after the
	// event: ask until every child is running, within waitFor.
	for deadline := time.Now().Add(waitFor); ; {
		cs := tr.list("sut")
		if !slices.ContainsFunc(cs, func(c ChildInfo) bool { return c.State != "running" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("children %+v", cs)
		}
	}
	if n := len(tr.events.matching(isEscalated)); n != 0 {
		t.Fatalf("%d escalations", n)
	}
}

// Item 2: with a backoff, the targets are stopped at once and started
// after it.
func TestOrderedRestartWaitsTheBackoffBetweenStopAndStart(t *testing.T) {
	log := newLifeLog()
	clk := newFakeClock()
	tr := spawnTree(t, Config{}, func(env Env) []ChildSpec {
		return []ChildSpec{SupervisorChild("", "sut", Config{Strategy: RestForOne, Backoff: Backoff{Initial: time.Second}, clock: clk}, env,
			lifeSpec(log, "a", nil), lifeSpec(log, "b", nil), lifeSpec(log, "c", nil))}
	})
	tr.list("sut")
	log.since(t, 0, 3)
	tr.crash("sut/b", "boom")
	var tm *fakeTimer
	for tm == nil || tm.d != time.Second {
		tm = clk.nextTimer(t) // the shutdown timer of c comes first
	}
	if got := log.since(t, 3, 2); !slices.Equal(got, []string{"stop c", "stop b"}) {
		t.Fatalf("before the backoff: %q", got)
	}
	if cs := tr.list("sut"); cs[1].State != "restarting" || cs[2].State != "restarting" || cs[0].State != "running" {
		t.Fatalf("children during the backoff %+v", cs)
	}
	tm.Fire()
	if got := log.since(t, 3, 4); !slices.Equal(got, []string{"stop c", "stop b", "start b", "start c"}) {
		t.Fatalf("log %q", got)
	}
	for _, e := range tr.events.wait(t, 2, restartedOf("sut")) {
		if r := e.(*event.ActorRestarted); r.Backoff != time.Second {
			t.Fatalf("restart %+v", r)
		}
	}
}

// A PoisonPill sent to a supervisor stops its children in reverse start
// order, each by its shutdown, then the supervisor.
func TestPoisonStopsChildrenInReverseOrder(t *testing.T) {
	log := newLifeLog()
	sys := quietSystem()
	env := Env{Directory: NewDirectory(), Events: sys.EventStream}
	pid, err := sys.Root.SpawnNamed(Props("", Config{TopLevel: true}, env,
		lifeSpec(log, "a", nil),
		SupervisorChild("", "sut", Config{}, env, lifeSpec(log, "b", nil), lifeSpec(log, "c", nil)),
		lifeSpec(log, "d", nil)), "node")
	if err != nil {
		t.Fatal(err)
	}
	log.since(t, 0, 4)
	if err := sys.Root.PoisonFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	if got := log.all()[4:]; !slices.Equal(got, []string{"stop d", "stop c", "stop b", "stop a"}) {
		t.Fatalf("stop order %q", got)
	}
	if names := env.Directory.Names(); len(names) != 0 {
		t.Fatalf("registered after poison: %q", names)
	}
}

// Item 3, shutdown: a supervisor child waits as long as its own children
// need (infinity); its workers get DefaultShutdown.
func TestSupervisorChildShutdownDefaultsToInfinity(t *testing.T) {
	log := newLifeLog()
	rootClk, sutClk := newFakeClock(), newFakeClock()
	tr := spawnTree(t, Config{clock: rootClk}, func(env Env) []ChildSpec {
		return []ChildSpec{SupervisorChild("", "sut", Config{clock: sutClk}, env, lifeSpec(log, "a", nil))}
	})
	tr.list("sut")
	if err := Stop(tr.ctx(), tr.sys.Root, tr.root, "sut"); err != nil {
		t.Fatal(err)
	}
	if tm := sutClk.nextTimer(t); tm.d != DefaultShutdown {
		t.Fatalf("worker shutdown timer %v, want %v", tm.d, DefaultShutdown)
	}
	select {
	case tm := <-rootClk.added:
		t.Fatalf("the root armed a %v shutdown timer for a supervisor", tm.d)
	default:
	}
	got := map[string]string{}
	for _, e := range tr.events.wait(t, 2, ofKind[*event.ActorShutdown]) {
		s := e.(*event.ActorShutdown)
		got[s.Name] = fmt.Sprintf("%s %s", s.How, s.Timeout)
	}
	if !maps.Equal(got, map[string]string{"sut": "graceful 0s", "sut/a": "graceful 5s"}) {
		t.Fatalf("shutdowns %v", got)
	}
}
