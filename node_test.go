package vsm_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/breakeractor"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/supervisor"
)

func startNode(t *testing.T, cfg *vsm.Config) *vsm.Node { return startWith(t, cfg) }

// recv waits for a value on ch, failing the test after a bounded wait.
func recv[T any](t *testing.T, ch <-chan T) T { return actortest.Recv(t, ch) }

// collect records every event of type T published on the node.
func collect[T vsm.Event](t *testing.T, n *vsm.Node) <-chan T {
	ch := make(chan T, 256)
	cancel := n.Subscribe(func(ev vsm.Event) {
		if e, ok := ev.(T); ok {
			ch <- e
		}
	})
	t.Cleanup(cancel)
	return ch
}

func names(tn supervisor.TreeNode) []string {
	var out []string
	var walk func(supervisor.TreeNode)
	walk = func(n supervisor.TreeNode) {
		out = append(out, n.Name)
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(tn)
	return out
}

func TestStartBuildsTheFiveSystems(t *testing.T) {
	n := startNode(t, nil)
	tree := n.Tree()
	var top []string
	for _, c := range tree.Children {
		top = append(top, c.Name)
		if c.Kind != "supervisor" {
			t.Errorf("%s kind = %q, want supervisor", c.Name, c.Kind)
		}
	}
	if want := []string{"s5", "s4", "s3", "s2", "s1", "user"}; !slices.Equal(top, want) {
		t.Fatalf("top of tree = %v, want %v (start order)", top, want)
	}
	if !slices.Contains(names(tree), "s5/policy") {
		t.Fatalf("tree %v has no s5/policy", names(tree))
	}
	for _, name := range []string{"s1", "s2", "s3", "s4", "s5", "s5/policy", "user"} {
		pid, ok := n.Lookup(name)
		if !ok || pid == nil {
			t.Errorf("Lookup(%q) = %v, %v", name, pid, ok)
		}
	}
	if _, ok := n.Lookup("s1/nothing"); ok {
		t.Error("Lookup of an unknown name succeeded")
	}
}

func TestStopIsOrderedIdempotentAndFinal(t *testing.T) {
	ctx := context.Background()
	n, err := vsm.Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A synchronous subscriber sees every stop in publication order.
	var mu sync.Mutex
	var stopped []string
	sub := n.ActorSystem().EventStream.Subscribe(func(m any) {
		if e, ok := m.(*event.ActorStopped); ok && e.Supervisor == "" {
			mu.Lock()
			stopped = append(stopped, e.Name)
			mu.Unlock()
		}
	})
	defer n.ActorSystem().EventStream.Unsubscribe(sub)
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"user", "s1", "s2", "s3", "s4", "s5"}; !slices.Equal(stopped, want) {
		t.Fatalf("stop order = %v, want %v", stopped, want)
	}
	if _, err := n.Spawn(ctx, "late", actor.PropsFromFunc(func(actor.Context) {})); !errors.Is(err, vsm.ErrStopped) {
		t.Fatalf("Spawn after Stop: %v, want ErrStopped", err)
	}
	if err := n.Raise(algedonic.Info, "t", "late"); !errors.Is(err, vsm.ErrStopped) {
		t.Fatalf("Raise after Stop: %v, want ErrStopped", err)
	}
}

func TestAlertReachesS5AndTheStream(t *testing.T) {
	n := startNode(t, nil)
	alerts := collect[*event.AlertRaised](t, n)
	if err := n.Raise(algedonic.Critical, "ops", "disk on fire"); err != nil {
		t.Fatal(err)
	}
	a := recv(t, alerts)
	if a.Severity != "critical" || a.Source != "ops" || a.Reason != "disk on fire" || a.Node != n.Name() || a.At.IsZero() {
		t.Fatalf("AlertRaised = %+v", a)
	}
	if got := n.AlertCount(algedonic.Critical); got != 1 {
		t.Fatalf("AlertCount(critical) = %d, want 1", got)
	}
	if err := n.Raise(algedonic.Severity(0), "ops", "bad"); !errors.Is(err, algedonic.ErrSeverity) {
		t.Fatalf("Raise with invalid severity: %v", err)
	}
}

func TestPublishPolicyFiltersBySeverity(t *testing.T) {
	cfg := config.Default()
	cfg.Algedonic.PublishMin = algedonic.Critical
	n := startNode(t, cfg)
	alerts := collect[*event.AlertRaised](t, n)
	handled := make(chan string, 4)
	if err := n.AddReaction(context.Background(), "t", func(a *algedonic.Alert) { handled <- a.Reason }); err != nil {
		t.Fatal(err)
	}
	_ = n.Raise(algedonic.Warning, "t", "quiet")
	_ = n.Raise(algedonic.Emergency, "t", "loud")
	if got := []string{recv(t, handled), recv(t, handled)}; !slices.Equal(got, []string{"quiet", "loud"}) {
		t.Fatalf("S5 handled %v", got)
	}
	if a := recv(t, alerts); a.Reason != "loud" {
		t.Fatalf("published %q first; the warning must not be published", a.Reason)
	}
	if n.AlertCount(algedonic.Warning) != 1 || n.AlertCount(algedonic.Emergency) != 1 {
		t.Fatalf("counts warning=%d emergency=%d", n.AlertCount(algedonic.Warning), n.AlertCount(algedonic.Emergency))
	}
}

func TestSlowSubscriberNeverBlocksPublishers(t *testing.T) {
	n := startNode(t, nil)
	entered := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int64
	sub := n.Subscription(func(ev vsm.Event) {
		if calls.Add(1) == 1 {
			close(entered)
		}
		<-release
	}, event.WithBuffer(4), event.WithFilter(func(ev vsm.Event) bool {
		_, ok := ev.(*event.MemberJoined)
		return ok
	}))
	n.Publish(&event.MemberJoined{Node: "first"})
	recv(t, entered)
	done := make(chan struct{})
	go func() {
		for i := range 999 {
			n.Publish(&event.MemberJoined{Node: fmt.Sprint(i)})
		}
		close(done)
	}()
	recv(t, done) // publishers finished while the subscriber is blocked
	if got := sub.Dropped(); got != 995 {
		t.Fatalf("dropped = %d, want 995 (1 in the handler + 4 queued of 1000)", got)
	}
	close(release)
	sub.Cancel()
	sub.Wait()
}

func TestSubscribePID(t *testing.T) {
	n := startNode(t, nil)
	got := make(chan *event.MemberLeft, 1)
	pid, err := n.Spawn(context.Background(), "listener", actor.PropsFromFunc(func(c actor.Context) {
		if e, ok := c.Message().(*event.MemberLeft); ok {
			got <- e
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	cancel := n.SubscribePID(pid)
	defer cancel()
	n.Publish(&event.MemberLeft{Node: "n9"})
	if e := recv(t, got); e.Node != "n9" {
		t.Fatalf("actor got %+v", e)
	}
}

type boom struct{}

// counter counts its messages; its state is fresh after every restart.
type counter struct {
	starts *atomic.Int64
	seen   int
	out    chan int
}

func (c *counter) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		c.starts.Add(1)
	case *boom:
		panic("boom")
	case string:
		c.seen++
		c.out <- c.seen
	}
}

func TestUserActorIsSupervised(t *testing.T) {
	n := startNode(t, nil)
	restarts := collect[*event.ActorRestarted](t, n)
	var starts atomic.Int64
	out := make(chan int, 8)
	pid, err := n.Spawn(context.Background(), "worker", actor.PropsFromProducer(func() actor.Actor {
		return &counter{starts: &starts, out: out}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := n.Lookup("user/worker"); !got.Equal(pid) {
		t.Fatalf("Lookup(user/worker) = %v, want %v", got, pid)
	}
	n.Root().Send(pid, "a")
	n.Root().Send(pid, "b")
	if recv(t, out) != 1 || recv(t, out) != 2 {
		t.Fatal("counter did not count")
	}
	n.Root().Send(pid, &boom{})
	r := recv(t, restarts)
	if r.Name != "user/worker" || r.Supervisor != "user" {
		t.Fatalf("ActorRestarted = %+v", r)
	}
	n.Root().Send(pid, "c")
	if got := recv(t, out); got != 1 {
		t.Fatalf("after restart the count is %d, want 1 (fresh state)", got)
	}
	if starts.Load() != 2 {
		t.Fatalf("started %d times, want 2", starts.Load())
	}
	if _, err := n.Spawn(context.Background(), "worker", actor.PropsFromFunc(func(actor.Context) {})); !errors.Is(err, supervisor.ErrDuplicateChild) {
		t.Fatalf("duplicate Spawn: %v, want ErrDuplicateChild", err)
	}
}

func TestUserSupervisorWithOwnStrategy(t *testing.T) {
	n := startNode(t, nil)
	restarted := collect[*event.ActorRestarted](t, n)
	var startsA, startsB atomic.Int64
	outA, outB := make(chan int, 8), make(chan int, 8)
	_, err := n.SpawnSupervisor(context.Background(), "team", supervisor.Config{Strategy: supervisor.AllForOne},
		supervisor.ChildSpec{Name: "a", Props: actor.PropsFromProducer(func() actor.Actor { return &counter{starts: &startsA, out: outA} })},
		supervisor.ChildSpec{Name: "b", Props: actor.PropsFromProducer(func() actor.Actor { return &counter{starts: &startsB, out: outB} })},
	)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := n.Lookup("user/team/a")
	if !ok {
		t.Fatalf("no user/team/a in %v", names(n.Tree()))
	}
	b, _ := n.Lookup("user/team/b")
	n.Root().Send(b, "x")
	recv(t, outB)
	n.Root().Send(a, &boom{})
	// all-for-one: b restarts too, and comes back with fresh state.
	got := map[string]bool{}
	for len(got) < 2 {
		got[recv(t, restarted).Name] = true
	}
	if !got["user/team/a"] || !got["user/team/b"] {
		t.Fatalf("restarted %v, want user/team/a and user/team/b", got)
	}
	n.Root().Send(b, "y")
	if got := recv(t, outB); got != 1 {
		t.Fatalf("b's count after a's failure = %d, want 1 (restarted)", got)
	}
	if startsA.Load() != 2 || startsB.Load() != 2 {
		t.Fatalf("starts a=%d b=%d, want 2 and 2", startsA.Load(), startsB.Load())
	}
}

func TestCrashLoopInS1EscalatesAndAlerts(t *testing.T) {
	cfg := config.Default()
	cfg.Supervision.MaxRestarts = 2
	cfg.Supervision.Window = config.Duration(time.Minute)
	n := startNode(t, cfg)
	escalated := collect[*event.SupervisionEscalated](t, n)
	alerts := collect[*event.AlertRaised](t, n)
	restarted := collect[*event.ActorRestarted](t, n)
	var starts atomic.Int64
	out := make(chan int, 8)
	pid, err := n.StartChild(context.Background(), vsm.S1, supervisor.ChildSpec{Name: "flaky",
		Props: actor.PropsFromProducer(func() actor.Actor { return &counter{starts: &starts, out: out} })})
	if err != nil {
		t.Fatal(err)
	}
	// A sibling in another system keeps serving throughout.
	var sStarts atomic.Int64
	sOut := make(chan int, 64)
	sib, err := n.Spawn(context.Background(), "steady", actor.PropsFromProducer(func() actor.Actor { return &counter{starts: &sStarts, out: sOut} }))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		n.Root().Send(pid, &boom{})
		n.Root().Send(sib, "tick")
		if got := recv(t, sOut); got != i+1 {
			t.Fatalf("sibling answered %d, want %d", got, i+1)
		}
	}
	e := recv(t, escalated)
	if e.Supervisor != "s1" || e.Child != "s1/flaky" || e.Restarts != 2 {
		t.Fatalf("SupervisionEscalated = %+v", e)
	}
	a := recv(t, alerts)
	if a.Severity != "critical" || a.Source != "s1" {
		t.Fatalf("alert = %+v", a)
	}
	// The root restarts S1 after the escalation: S1 itself restarts.
	for {
		r := recv(t, restarted)
		if r.Name == "s1" {
			break
		}
	}
	if _, ok := n.Lookup("s1"); !ok {
		t.Fatal("s1 is gone after the escalation")
	}
}

func TestUnknownMessagesHarmNothing(t *testing.T) {
	n := startNode(t, nil)
	restarts := collect[*event.ActorRestarted](t, n)
	for _, name := range []string{"s1", "s2", "s3", "s4", "s5", "s5/policy", "user"} {
		pid, _ := n.Lookup(name)
		n.Root().Send(pid, "garbage")
		n.Root().Send(pid, 42)
		n.Root().Send(pid, &struct{ X chan int }{})
	}
	// Still serving: an alert goes through and nothing restarted.
	alerts := collect[*event.AlertRaised](t, n)
	_ = n.Raise(algedonic.Info, "t", "still alive")
	recv(t, alerts)
	select {
	case r := <-restarts:
		t.Fatalf("unexpected restart %+v", r)
	default:
	}
}

func TestRetryUsesFaultToleranceDefaults(t *testing.T) {
	cfg, err := config.Parse("ft.yaml", []byte("fault_tolerance:\n  default_max_attempts: 4\n  default_base_delay: 1ms\n  default_max_delay: 2ms\n"))
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, cfg)
	var calls int
	boom := errors.New("flaky")
	err = n.Retry(context.Background(), func(context.Context) error { calls++; return boom })
	if !errors.Is(err, fault.ErrExhausted) || !errors.Is(err, boom) || calls != 4 {
		t.Fatalf("Retry = %v after %d calls; want ErrExhausted after 4 (default_max_attempts)", err, calls)
	}
	calls = 0
	_ = n.Retry(context.Background(), func(context.Context) error { calls++; return boom }, fault.MaxAttempts(2))
	if calls != 2 {
		t.Fatalf("an explicit option did not override the default: %d calls", calls)
	}
}

func TestConfiguredBreakersAreSupervisedInS1(t *testing.T) {
	cfg, err := config.Parse("b.yaml", []byte("circuit_breakers:\n  api:\n    failure_threshold: 1\n    recovery_timeout: 1h\n"))
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, cfg)
	if !slices.Contains(names(n.Tree()), "s1/breaker/api") {
		t.Fatalf("tree %v lacks s1/breaker/api", names(n.Tree()))
	}
	b, ok := n.Breaker("api")
	if !ok || b.Settings().FailureThreshold != 1 {
		t.Fatalf("Breaker(api) = %v, %v", b, ok)
	}
	pid, ok := n.BreakerPID("api")
	if !ok {
		t.Fatal("no breaker actor")
	}
	// Open it through its actor, as a custom actor would, then see the
	// handle refuse calls.
	if _, err := breakeractor.Open(context.Background(), n.Root(), pid); err != nil {
		t.Fatal(err)
	}
	if err := b.Call(context.Background(), func(context.Context) error { return nil }); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("Call after Open by message = %v, want ErrOpen", err)
	}
	if _, ok := n.Breaker("nope"); ok {
		t.Fatal("unknown breaker found")
	}
}

func TestPanickingReactionNeitherRestartsS5NorStopsOthers(t *testing.T) {
	n := startNode(t, nil)
	restarts := collect[*event.ActorRestarted](t, n)
	got := make(chan string, 4)
	ctx := context.Background()
	if err := n.AddReaction(ctx, "bad", func(*algedonic.Alert) { panic("reaction bug") }); err != nil {
		t.Fatal(err)
	}
	if err := n.AddReaction(ctx, "good", func(a *algedonic.Alert) { got <- a.Reason }); err != nil {
		t.Fatal(err)
	}
	_ = n.Raise(algedonic.Warning, "t", "one")
	_ = n.Raise(algedonic.Warning, "t", "two")
	if a, b := recv(t, got), recv(t, got); a != "one" || b != "two" {
		t.Fatalf("good reaction saw %q, %q", a, b)
	}
	select {
	case r := <-restarts:
		t.Fatalf("restart after a reaction panic: %+v", r)
	default:
	}
}

func TestLogPolicyBySeverity(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	cfg := config.Default()
	cfg.Algedonic.LogMin = algedonic.Critical
	n := startWith(t, cfg, vsm.WithLogger(zap.New(core)))
	handled := make(chan string, 2)
	if err := n.AddReaction(context.Background(), "t", func(a *algedonic.Alert) { handled <- a.Reason }); err != nil {
		t.Fatal(err)
	}
	_ = n.Raise(algedonic.Warning, "t", "below log_min")
	_ = n.Raise(algedonic.Critical, "t", "at log_min")
	recv(t, handled)
	recv(t, handled)
	var logged []string
	for _, e := range logs.FilterMessage("algedonic alert").All() {
		logged = append(logged, e.ContextMap()["reason"].(string))
		if e.Level != zap.ErrorLevel {
			t.Errorf("critical alert logged at %s, want error", e.Level)
		}
	}
	if !slices.Equal(logged, []string{"at log_min"}) {
		t.Fatalf("logged %v, want only the critical alert", logged)
	}
}

// A node that starts and stops cleanly logs no warning: in particular the
// supervisors' start acknowledgements (*actor.Touch) are not "unknown
// messages" to S5 or to a supervisor.
func TestCleanStartLogsNoWarning(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	n := startWith(t, nil, vsm.WithLogger(zap.New(core)))
	if err := n.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, e := range logs.All() {
		t.Errorf("warning logged: %s %v", e.Message, e.ContextMap())
	}
}
