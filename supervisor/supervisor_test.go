package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/event"
)

func TestRestartFreshStateSamePIDQueuedMessagesKept(t *testing.T) {
	tr := newTree(t, Config{}, Config{}, three)
	pid := tr.pid("sut/b")
	root := tr.sys.Root
	for range 3 {
		root.Send(pid, &inc{})
	}
	root.Send(pid, &crash{reason: errors.New("boom")})
	// Queued behind the panic: they must reach the new instance.
	root.Send(pid, &inc{})
	root.Send(pid, &inc{})
	res, err := root.RequestFuture(pid, &get{}, waitFor).Result()
	if err != nil {
		t.Fatal(err)
	}
	if res != 2 {
		t.Fatalf("count after restart = %v, want 2 (fresh state + 2 queued incs)", res)
	}
	if got := tr.pid("sut/b"); !got.Equal(pid) {
		t.Fatalf("PID changed across restart: %v -> %v", pid, got)
	}
	ev := tr.events.wait(t, 1, restartedName("sut/b"))[0].(*event.ActorRestarted)
	want := event.ActorRestarted{Name: "sut/b", PID: PIDString(pid), Supervisor: "sut", Reason: "boom", Restarts: 1, Backoff: 0, At: ev.At}
	if *ev != want {
		t.Fatalf("event = %+v, want %+v", *ev, want)
	}
	if n := tr.rec.count("b"); n != 2 {
		t.Fatalf("b started %d times, want 2", n)
	}
}

func TestStrategiesRestartExactlyTheRightChildren(t *testing.T) {
	cases := []struct {
		strategy  Strategy
		restarted []string
		starts    map[string]int
	}{
		{OneForOne, []string{"sut/b"}, map[string]int{"a": 1, "b": 2, "c": 1}},
		{AllForOne, []string{"sut/a", "sut/b", "sut/c"}, map[string]int{"a": 2, "b": 2, "c": 2}},
		{RestForOne, []string{"sut/b", "sut/c"}, map[string]int{"a": 1, "b": 2, "c": 2}},
	}
	for _, tc := range cases {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			tr := newTree(t, Config{}, Config{Strategy: tc.strategy}, three)
			tr.crash("sut/b", "boom")
			evs := tr.events.wait(t, len(tc.restarted), restartedOf("sut"))
			for _, n := range []string{"a", "b", "c"} {
				tr.ping("sut/" + n)
			}
			var names []string
			for _, ev := range tr.events.matching(restartedOf("sut")) {
				r := ev.(*event.ActorRestarted)
				names = append(names, r.Name)
				if r.Name != "sut/b" && !strings.Contains(r.Reason, "sibling b failed") {
					t.Errorf("sibling reason = %q", r.Reason)
				}
			}
			if !slices.Equal(names, tc.restarted) {
				t.Fatalf("restarted %v, want %v (events %d)", names, tc.restarted, len(evs))
			}
			got := map[string]int{"a": tr.rec.count("a"), "b": tr.rec.count("b"), "c": tr.rec.count("c")}
			if !maps.Equal(got, tc.starts) {
				t.Fatalf("starts %v, want %v", got, tc.starts)
			}
			for _, c := range tr.list("sut") {
				want := 0
				if slices.Contains(tc.restarted, c.Path) {
					want = 1
				}
				if c.Restarts != want {
					t.Errorf("%s restarts = %d, want %d", c.Path, c.Restarts, want)
				}
			}
		})
	}
}

func TestRestartIntensityWindowGiveUpAndEscalate(t *testing.T) {
	clk := newFakeClock()
	tr := newTree(t, Config{}, Config{MaxRestarts: 2, Window: 5 * time.Second, clock: clk}, func(rec *recorder) []ChildSpec {
		return []ChildSpec{workerSpec(rec, "a"), workerSpec(rec, "b")}
	})
	oldSut, oldA := tr.pid("sut"), tr.pid("sut/a")
	crashAndWait := func(restarts int) {
		t.Helper()
		tr.crash("sut/a", "boom")
		evs := tr.events.wait(t, restarts, restartedName("sut/a"))
		if got := evs[restarts-1].(*event.ActorRestarted).Restarts; got != restarts {
			t.Fatalf("Restarts = %d, want %d", got, restarts)
		}
	}
	crashAndWait(1)
	crashAndWait(2)
	clk.Advance(5 * time.Second) // both failures leave the window
	crashAndWait(3)
	crashAndWait(4)
	if n := len(tr.events.matching(isEscalated)); n != 0 {
		t.Fatalf("escalated after failures spread over two windows: %d", n)
	}

	tr.crash("sut/a", "boom") // third failure within the window
	esc := tr.events.wait(t, 1, isEscalated)[0].(*event.SupervisionEscalated)
	wantEsc := event.SupervisionEscalated{Supervisor: "sut", Child: "sut/a", Reason: "boom", Restarts: 2, Window: 5 * time.Second, At: esc.At}
	if *esc != wantEsc {
		t.Fatalf("escalated = %+v, want %+v", *esc, wantEsc)
	}
	al := tr.alerts.next(t)
	if al.Severity != algedonic.Critical || al.Source != "sut" || !strings.Contains(al.Reason, "sut/a") || !strings.Contains(al.Reason, "boom") {
		t.Fatalf("alert = %+v", al)
	}
	// The node root restarts sut, which re-spawns a and b fresh.
	rs := tr.events.wait(t, 1, restartedName("sut"))[0].(*event.ActorRestarted)
	if rs.Supervisor != "" || rs.Restarts != 1 || !strings.Contains(rs.Reason, "gave up on sut/a after 2 restarts in 5s: boom") {
		t.Fatalf("sut restart = %+v", rs)
	}
	stopped := tr.events.wait(t, 1, stoppedName("sut/a"))[0].(*event.ActorStopped)
	if stopped.Reason != "gave up: boom" || stopped.PID != PIDString(oldA) {
		t.Fatalf("stopped = %+v", stopped)
	}
	tr.events.wait(t, 2, startedName("sut/a"))
	tr.events.wait(t, 2, startedName("sut/b"))
	tr.rec.waitStarts(t, "b", 2)
	if got := tr.pid("sut"); !got.Equal(oldSut) {
		t.Fatalf("sut PID changed on restart")
	}
	// protoactor ids are parent id + "/" + name, so the re-spawned a has an
	// equal PID; it is a new actor all the same (a started twice).
	newA := tr.pid("sut/a")
	tr.rec.waitStarts(t, "a", 2)
	if tr.ping("sut/a") != "pong a" {
		t.Fatal("new a does not answer")
	}
	// Fresh supervisor: new intensity counters, restart counts from zero.
	tree := tr.env.Directory.Tree()
	if len(tree.Children) != 1 || tree.Children[0].Name != "sut" || tree.Children[0].Restarts != 1 {
		t.Fatalf("tree = %+v", tree)
	}
	kids := tree.Children[0].Children
	if len(kids) != 2 || kids[0].Name != "sut/a" || kids[1].Name != "sut/b" || kids[0].Restarts != 0 || kids[0].PID != PIDString(newA) {
		t.Fatalf("sut children = %+v", kids)
	}
	if n := tr.alerts.count(); n != 1 {
		t.Fatalf("%d alerts, want 1", n)
	}
}

// A top-level supervisor that gives up raises an Emergency alert, stops its
// children in reverse start order and then itself (it has no parent to
// escalate to). It used to stop only the failing child.
func TestTopLevelGiveUpRaisesEmergencyAndStopsEverything(t *testing.T) {
	sys := quietSystem()
	ev := collect(t, sys)
	al := newAlerts()
	rec := newRecorder()
	dir := NewDirectory()
	env := Env{Directory: dir, Events: sys.EventStream, Alerts: al}
	pid, err := sys.Root.SpawnNamed(Props("top", Config{TopLevel: true, MaxRestarts: 1, clock: newFakeClock()}, env,
		workerSpec(rec, "a"), workerSpec(rec, "b")), "top")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait() })
	tr := &tree{t: t, sys: sys, env: env, root: pid, events: ev, alerts: al, rec: rec}
	tr.list("")
	tr.crash("top/a", "boom")
	ev.wait(t, 1, restartedName("top/a"))
	tr.crash("top/a", "boom")
	a := al.next(t)
	if a.Severity != algedonic.Emergency || a.Source != "top" || !strings.Contains(a.Reason, "top/a") {
		t.Fatalf("alert = %+v", a)
	}
	stopped := ev.wait(t, 2, func(e event.Event) bool { _, ok := e.(*event.ActorStopped); return ok })
	got := []string{}
	for _, e := range stopped {
		s := e.(*event.ActorStopped)
		got = append(got, s.Name+": "+s.Reason)
	}
	want := []string{"top/b: supervisor gave up (a: boom)", "top/a: gave up: boom"}
	if !slices.Equal(got, want) {
		t.Fatalf("stopped %q, want %q", got, want)
	}
	if _, err := List(tr.ctx(), sys.Root, pid); !errors.Is(err, ErrStopped) {
		t.Fatalf("list after a top-level give-up: %v, want ErrStopped", err)
	}
	if names := dir.Names(); len(names) != 0 {
		t.Fatalf("directory after give-up = %q", names)
	}
	if n := len(ev.matching(isEscalated)); n != 1 || al.count() != 1 {
		t.Fatalf("%d escalation events and %d alerts, want 1 and 1", n, al.count())
	}
}

func TestNegativeMaxRestartsStopsWithoutEscalating(t *testing.T) {
	tr := newTree(t, Config{}, Config{MaxRestarts: -1}, three)
	aPID := tr.pid("sut/a")
	tr.crash("sut/a", "boom")
	st := tr.events.wait(t, 1, stoppedName("sut/a"))[0].(*event.ActorStopped)
	if st.Reason != "failed: boom" || st.PID != PIDString(aPID) {
		t.Fatalf("stopped = %+v", st)
	}
	if n := len(tr.list("sut")); n != 2 {
		t.Fatalf("%d children, want 2", n)
	}
	if len(tr.events.matching(isEscalated)) != 0 || tr.alerts.count() != 0 || len(tr.events.matching(restartedName("sut"))) != 0 {
		t.Fatal("stop-on-failure escalated")
	}
	// Nor is a permanent child that stops itself restarted.
	tr.sys.Root.Send(tr.pid("sut/b"), &selfStop{})
	if st := tr.events.wait(t, 1, stoppedName("sut/b"))[0].(*event.ActorStopped); st.Reason != "stopped" {
		t.Fatalf("stopped = %+v", st)
	}
	if cs := tr.list("sut"); len(cs) != 1 || cs[0].Name != "c" || len(tr.events.matching(restartedOf("sut"))) != 0 {
		t.Fatalf("children %+v", cs)
	}
}

func TestBackoffDelay(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		b    Backoff
		n    int
		want time.Duration
	}{
		{Backoff{}, 1, 0},
		{Backoff{}, 5, 0},
		{Backoff{Initial: 100 * ms}, 0, 0},
		{Backoff{Initial: 100 * ms}, 1, 100 * ms},
		{Backoff{Initial: 100 * ms}, 2, 200 * ms},
		{Backoff{Initial: 100 * ms}, 3, 400 * ms},
		{Backoff{Initial: 100 * ms}, 4, 800 * ms},
		{Backoff{Initial: 100 * ms}, 5, time.Second}, // Max 0 → 1s
		{Backoff{Initial: 100 * ms, Max: 250 * ms}, 3, 250 * ms},
		{Backoff{Initial: 10 * ms, Max: time.Minute}, 7, 640 * ms},
		{Backoff{Initial: time.Second, Max: time.Hour}, 1000, time.Hour}, // no overflow
		{Backoff{Initial: 2 * time.Second}, 1, time.Second},              // capped even at n=1
	}
	for _, c := range cases {
		if got := c.b.Delay(c.n); got != c.want {
			t.Errorf("%+v.Delay(%d) = %v, want %v", c.b, c.n, got, c.want)
		}
	}
}

func TestBackoffDelaysTheRestart(t *testing.T) {
	clk := newFakeClock()
	tr := newTree(t, Config{}, Config{MaxRestarts: 10, Backoff: Backoff{Initial: 100 * time.Millisecond, Max: 150 * time.Millisecond}, clock: clk}, three)
	tr.crash("sut/a", "boom")
	tm := clk.nextTimer(t)
	if tm.d != 100*time.Millisecond {
		t.Fatalf("first backoff = %v, want 100ms", tm.d)
	}
	// The timer has not fired: a is suspended, not restarted.
	cs := tr.list("sut")
	if cs[0].State != "restarting" || cs[0].Restarts != 0 || tr.rec.count("a") != 1 {
		t.Fatalf("before the timer: %+v, starts %d", cs[0], tr.rec.count("a"))
	}
	if n := len(tr.events.matching(restartedName("sut/a"))); n != 0 {
		t.Fatalf("restarted before the backoff elapsed (%d events)", n)
	}
	tm.Fire()
	ev := tr.events.wait(t, 1, restartedName("sut/a"))[0].(*event.ActorRestarted)
	if ev.Backoff != 100*time.Millisecond || ev.Restarts != 1 {
		t.Fatalf("event = %+v", ev)
	}
	tr.rec.waitStarts(t, "a", 2)

	tr.crash("sut/a", "boom")
	if tm := clk.nextTimer(t); tm.d != 150*time.Millisecond {
		t.Fatalf("second backoff = %v, want 150ms (200ms capped)", tm.d)
	} else {
		tm.Fire()
	}
	ev = tr.events.wait(t, 2, restartedName("sut/a"))[1].(*event.ActorRestarted)
	if ev.Backoff != 150*time.Millisecond || ev.Restarts != 2 {
		t.Fatalf("event = %+v", ev)
	}

	// A timer pending when the supervisor stops is cancelled.
	tr.crash("sut/a", "boom")
	pending := clk.nextTimer(t)
	if err := Stop(tr.ctx(), tr.sys.Root, tr.root, "sut"); err != nil {
		t.Fatal(err)
	}
	if !pending.isStopped() {
		t.Fatal("backoff timer still armed after its supervisor stopped")
	}
	if pending.Fire() {
		t.Fatal("stopped timer fired")
	}
}

func TestBackoffWallClock(t *testing.T) {
	const backoff = 40 * time.Millisecond
	tr := newTree(t, Config{}, Config{Backoff: Backoff{Initial: backoff}}, three)
	start := time.Now()
	tr.crash("sut/c", "boom")
	tr.rec.waitStarts(t, "c", 2)
	if el := time.Since(start); el < backoff {
		t.Fatalf("restarted after %v, before the %v backoff", el, backoff)
	}
}

func TestSiblingServesWhileAnotherCrashLoops(t *testing.T) {
	sys := quietSystem()
	ev := collect(t, sys)
	rec := newRecorder()
	var crashing atomic.Bool
	crashing.Store(true)
	env := Env{Directory: NewDirectory(), Events: sys.EventStream, Alerts: newAlerts()}
	loop := Worker("loop", actor.PropsFromProducer(func() actor.Actor { return &worker{name: "loop", rec: rec, crashing: &crashing} }))
	// Far more than the loop can use up while b is pinged.
	const maxRestarts = 1 << 20
	pid, err := sys.Root.SpawnNamed(Props("", Config{TopLevel: true, MaxRestarts: maxRestarts, Window: time.Hour}, env,
		loop, workerSpec(rec, "b")), "node")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait() })
	tr := &tree{t: t, sys: sys, env: env, root: pid, events: ev, rec: rec}
	tr.list("")
	served := 0
	for range 300 {
		if tr.ping("b") == "pong b" {
			served++
		}
	}
	if served != 300 {
		t.Fatalf("b answered %d of 300", served)
	}
	rec.waitStarts(t, "loop", 50)
	crashing.Store(false)
	if tr.ping("b") != "pong b" || rec.count("b") != 1 {
		t.Fatal("b disturbed")
	}
	// The loop ends with a successful start, within the intensity.
	if n := len(ev.matching(isEscalated)); n != 0 {
		t.Fatalf("%d escalations within the intensity", n)
	}
}

func TestDynamicChildrenOrderAndRespawn(t *testing.T) {
	// The root is all-for-one, so crashing its worker "w" restarts sut.
	tr := newTree(t, Config{Strategy: AllForOne}, Config{Strategy: RestForOne}, func(rec *recorder) []ChildSpec {
		return []ChildSpec{workerSpec(rec, "a"), workerSpec(rec, "b")}
	}, func(rec *recorder) ChildSpec { return workerSpec(rec, "w") })
	sut := tr.pid("sut")
	_, err := Start(tr.ctx(), tr.sys.Root, sut, workerSpec(tr.rec, "c"))
	if err != nil {
		t.Fatal(err)
	}
	tr.rec.waitStarts(t, "c", 1)
	if _, err := Start(tr.ctx(), tr.sys.Root, sut, workerSpec(tr.rec, "c")); !errors.Is(err, ErrDuplicateChild) {
		t.Fatalf("duplicate start: %v", err)
	}
	if _, err := Start(tr.ctx(), tr.sys.Root, sut, ChildSpec{Name: "x"}); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("start without props: %v", err)
	}
	tr.crash("sut/b", "boom")
	tr.events.wait(t, 2, restartedOf("sut"))
	for _, n := range []string{"sut/a", "sut/b", "sut/c"} {
		tr.ping(n)
	}
	if a, b, c := tr.rec.count("a"), tr.rec.count("b"), tr.rec.count("c"); a != 1 || b != 2 || c != 2 {
		t.Fatalf("rest-for-one with a dynamic child: starts a=%d b=%d c=%d, want 1 2 2", a, b, c)
	}

	tr.crash("w", "boom")
	tr.events.wait(t, 1, restartedName("sut"))
	tr.events.wait(t, 2, startedName("sut/c"))
	cs := tr.list("sut")
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("children after sut restart = %v", names)
	}
	tr.rec.waitStarts(t, "c", 3)
	if !tr.pid("sut/c").Equal(cs[2].PID) {
		t.Fatal("dynamic child not re-registered")
	}
	if tr.ping("sut/c") != "pong c" {
		t.Fatal("re-spawned c does not answer")
	}
}

func TestStopChildThenReuseName(t *testing.T) {
	tr := newTree(t, Config{}, Config{}, three)
	sut := tr.pid("sut")
	old := tr.pid("sut/b")
	if err := Stop(tr.ctx(), tr.sys.Root, sut, "b"); err != nil {
		t.Fatal(err)
	}
	st := tr.events.wait(t, 1, stoppedName("sut/b"))[0].(*event.ActorStopped)
	if st.Reason != "stopped by request" || st.Supervisor != "sut" {
		t.Fatalf("stopped = %+v", st)
	}
	if _, ok := tr.env.Directory.Lookup("sut/b"); ok {
		t.Fatal("stopped child still registered")
	}
	if err := Stop(tr.ctx(), tr.sys.Root, sut, "b"); !errors.Is(err, ErrNoChild) {
		t.Fatalf("second stop: %v", err)
	}
	// Stop returned after termination, so the name is free at once.
	pid, err := Start(tr.ctx(), tr.sys.Root, sut, workerSpec(tr.rec, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if !pid.Equal(old) || !tr.pid("sut/b").Equal(pid) {
		t.Fatalf("re-used name: pid %v, old %v", pid, old)
	}
	tr.rec.waitStarts(t, "b", 2)
	var names []string
	for _, c := range tr.list("sut") {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"a", "c", "b"}) {
		t.Fatalf("order after stop+start = %v", names)
	}
}

type logRecords struct{ ch chan string }

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	select {
	case l.ch <- b.String():
	default:
	}
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

func TestUnknownMessagesAreLoggedAndIgnored(t *testing.T) {
	sys := quietSystem()
	ev := collect(t, sys)
	logs := &logRecords{ch: make(chan string, 16)}
	rec := newRecorder()
	env := Env{Directory: NewDirectory(), Events: sys.EventStream, Logger: slog.New(logs)}
	pid, err := sys.Root.SpawnNamed(Props("", Config{TopLevel: true}, env, workerSpec(rec, "a")), "node")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait() })
	sys.Root.Send(pid, "hello")
	sys.Root.Send(pid, 42)
	tr := &tree{t: t, sys: sys, env: env, root: pid, events: ev, rec: rec}
	if cs := tr.list(""); len(cs) != 1 {
		t.Fatalf("children = %+v", cs)
	}
	for _, want := range []string{"string", "int"} {
		select {
		case l := <-logs.ch:
			if !strings.Contains(l, "unknown message") || !strings.Contains(l, want) {
				t.Fatalf("log = %q, want unknown %s", l, want)
			}
		case <-time.After(waitFor):
			t.Fatal("unknown message not logged")
		}
	}
	rec.waitStarts(t, "a", 1)
	tr.ping("a")
	if rec.count("a") != 1 || len(ev.matching(restartedName("a"))) != 0 {
		t.Fatal("supervisor restarted by an unknown message")
	}
}

func TestEventsAndTreeMatch(t *testing.T) {
	tr := newTree(t, Config{}, Config{MaxRestarts: 10}, three)
	started := tr.events.wait(t, 4, func(ev event.Event) bool { _, ok := ev.(*event.ActorStarted); return ok })
	kinds := map[string]string{}
	for _, e := range started {
		s := e.(*event.ActorStarted)
		kinds[s.Name] = s.ActorKind
		if pid, _ := tr.env.Directory.Lookup(s.Name); PIDString(pid) != s.PID {
			t.Errorf("%s: event pid %s, directory %s", s.Name, s.PID, PIDString(pid))
		}
	}
	if !maps.Equal(kinds, map[string]string{"sut": "supervisor", "sut/a": "worker", "sut/b": "worker", "sut/c": "worker"}) {
		t.Fatalf("started = %v", kinds)
	}
	tr.crash("sut/a", "x")
	tr.events.wait(t, 1, restartedName("sut/a"))
	tr.crash("sut/a", "y")
	tr.events.wait(t, 2, restartedName("sut/a"))
	tr.crash("sut/c", "z")
	tr.events.wait(t, 1, restartedName("sut/c"))

	tree := tr.env.Directory.Tree()
	if tree.Name != "" || tree.Kind != KindSupervisor || tree.PID != PIDString(tr.root) {
		t.Fatalf("root = %+v", tree)
	}
	sut := tree.Children[0]
	got := map[string]int{}
	var order []string
	for _, c := range sut.Children {
		got[c.Name] = c.Restarts
		order = append(order, c.Name)
	}
	want := map[string]int{}
	for _, n := range []string{"sut/a", "sut/b", "sut/c"} {
		want[n] = len(tr.events.matching(restartedName(n)))
	}
	if !maps.Equal(got, want) || !maps.Equal(want, map[string]int{"sut/a": 2, "sut/b": 0, "sut/c": 1}) {
		t.Fatalf("tree restarts %v, events %v", got, want)
	}
	if !slices.Equal(order, []string{"sut/a", "sut/b", "sut/c"}) {
		t.Fatalf("tree order %v", order)
	}
	if _, err := json.Marshal(tree); err != nil {
		t.Fatal(err)
	}
}

func TestStoppingRemovesEverything(t *testing.T) {
	sys := quietSystem()
	ev := collect(t, sys)
	rec := newRecorder()
	dir := NewDirectory()
	env := Env{Directory: dir, Events: sys.EventStream}
	pid, err := sys.Root.SpawnNamed(Props("", Config{TopLevel: true}, env,
		SupervisorChild("", "s1", Config{}, env, workerSpec(rec, "a"), workerSpec(rec, "b")),
		workerSpec(rec, "w")), "node")
	if err != nil {
		t.Fatal(err)
	}
	tr := &tree{t: t, sys: sys, env: env, root: pid, events: ev, rec: rec}
	tr.list("")
	tr.list("s1")
	if got := dir.Names(); !slices.Equal(got, []string{"", "s1", "s1/a", "s1/b", "w"}) {
		t.Fatalf("names = %q", got)
	}
	if err := sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	if got := dir.Names(); len(got) != 0 {
		t.Fatalf("names after stop = %q", got)
	}
	stopped := ev.wait(t, 4, func(e event.Event) bool { _, ok := e.(*event.ActorStopped); return ok })
	var names []string
	for _, e := range stopped {
		s := e.(*event.ActorStopped)
		if s.Reason != "supervisor stopping" {
			t.Errorf("%s reason %q", s.Name, s.Reason)
		}
		names = append(names, s.Name)
	}
	// s1's own children terminate before s1 does.
	if i := slices.Index(names, "s1"); i < slices.Index(names, "s1/a") || i < slices.Index(names, "s1/b") || !slices.Contains(names, "w") {
		t.Fatalf("stop order %v", names)
	}
	if _, err := List(tr.ctx(), sys.Root, pid); !errors.Is(err, ErrStopped) {
		t.Fatalf("list on a stopped supervisor: %v", err)
	}
}

// blocker blocks in Stopping until release is closed, holding its
// supervisor's restart open.
type blocker struct {
	stopping chan struct{}
	release  chan struct{}
}

func (b *blocker) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Stopping); ok {
		select {
		case b.stopping <- struct{}{}:
		default:
		}
		<-b.release
	}
}

func TestRequestsDuringRestartAreReplayed(t *testing.T) {
	sys := quietSystem()
	ev := collect(t, sys)
	rec := newRecorder()
	logs := &logRecords{ch: make(chan string, 64)}
	env := Env{Directory: NewDirectory(), Events: sys.EventStream, Logger: slog.New(logs)}
	blk := &blocker{stopping: make(chan struct{}, 4), release: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(blk.release)
		}
	}
	t.Cleanup(release)
	pid, err := sys.Root.SpawnNamed(Props("", Config{TopLevel: true, Strategy: AllForOne}, env,
		SupervisorChild("", "sut", Config{}, env,
			Worker("blk", actor.PropsFromProducer(func() actor.Actor { return blk })), workerSpec(rec, "a")),
		workerSpec(rec, "w")), "node")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(); _ = sys.Root.StopFuture(pid).Wait() })
	tr := &tree{t: t, sys: sys, env: env, root: pid, events: ev, rec: rec}
	tr.list("")
	sut := tr.pid("sut")
	tr.list("sut")

	tr.crash("w", "boom") // all-for-one: the root restarts sut too
	select {
	case <-blk.stopping:
	case <-time.After(waitFor):
		t.Fatal("sut's restart did not reach blk")
	}
	fStart := sys.Root.RequestFuture(sut, &StartChild{Spec: workerSpec(rec, "d")}, waitFor)
	fList := sys.Root.RequestFuture(sut, &GetChildren{}, waitFor)
	for deferred := 0; deferred < 2; {
		select {
		case l := <-logs.ch:
			if strings.Contains(l, "deferring") {
				deferred++
			}
		case <-time.After(waitFor):
			t.Fatal("requests not deferred")
		}
	}
	release()
	res, err := fStart.Result()
	if err != nil {
		t.Fatal(err)
	}
	if r := res.(*StartChildResult); r.Err != nil || r.PID == nil {
		t.Fatalf("start during restart = %+v", r)
	}
	res, err = fList.Result()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range res.(*Children).Children {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"blk", "a", "d"}) {
		t.Fatalf("children replied after restart = %v", names)
	}
	if tr.ping("sut/d") != "pong d" || tr.ping("sut/a") != "pong a" || tr.rec.count("a") != 2 {
		t.Fatal("restart incomplete")
	}
}

func TestEscalationClimbsTheTree(t *testing.T) {
	sys := quietSystem()
	ev := collect(t, sys)
	al := newAlerts()
	rec := newRecorder()
	env := Env{Directory: NewDirectory(), Events: sys.EventStream, Alerts: al}
	one := Config{MaxRestarts: 1, Window: time.Hour}
	pid, err := sys.Root.SpawnNamed(Props("", Config{TopLevel: true}, env,
		SupervisorChild("", "mid", one, env,
			SupervisorChild("mid", "sut", one, env, workerSpec(rec, "a")))), "node")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait() })
	tr := &tree{t: t, sys: sys, env: env, root: pid, events: ev, rec: rec}
	// Each spawn is registered before the spawned supervisor handles a request.
	tr.list("")
	tr.list("mid")
	tr.list("mid/sut")

	giveUp := func(round int) {
		t.Helper()
		ev.wait(t, round, startedName("mid/sut/a"))
		tr.crash("mid/sut/a", "boom")
		ev.wait(t, round, restartedName("mid/sut/a"))
		tr.crash("mid/sut/a", "boom")
		a := al.next(t)
		if a.Severity != algedonic.Critical || a.Source != "mid/sut" || !strings.Contains(a.Reason, "mid/sut/a") {
			t.Fatalf("round %d alert = %+v", round, a)
		}
	}
	giveUp(1)
	r := ev.wait(t, 1, restartedName("mid/sut"))[0].(*event.ActorRestarted)
	if r.Supervisor != "mid" || !strings.Contains(r.Reason, "supervisor mid/sut gave up on mid/sut/a after 1 restarts") {
		t.Fatalf("sut restart = %+v", r)
	}
	giveUp(2)
	a := al.next(t)
	if a.Severity != algedonic.Critical || a.Source != "mid" || !strings.Contains(a.Reason, "gave up on mid/sut") {
		t.Fatalf("mid alert = %+v", a)
	}
	r = ev.wait(t, 1, restartedName("mid"))[0].(*event.ActorRestarted)
	if r.Supervisor != "" || r.Restarts != 1 {
		t.Fatalf("mid restart = %+v", r)
	}
	ev.wait(t, 3, startedName("mid/sut/a"))
	tr.list("mid/sut")
	if tr.ping("mid/sut/a") != "pong a" {
		t.Fatal("a not back")
	}
	if n := len(ev.matching(isEscalated)); n != 3 {
		t.Fatalf("%d escalations, want 3", n)
	}
	tree := env.Directory.Tree()
	mid := tree.Children[0]
	if mid.Name != "mid" || mid.Restarts != 1 || len(mid.Children) != 1 || mid.Children[0].Restarts != 0 ||
		len(mid.Children[0].Children) != 1 || mid.Children[0].Children[0].Name != "mid/sut/a" {
		t.Fatalf("tree = %+v", tree)
	}
	if got := env.Directory.Names(); !slices.Equal(got, []string{"", "mid", "mid/sut", "mid/sut/a"}) {
		t.Fatalf("names = %q", got)
	}
}
