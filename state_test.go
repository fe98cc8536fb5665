package vsm_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/viable-systems/vsm-connections/internal/redistest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/breakeractor"
	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/memory"
	"github.com/viable-systems/vsm-connections/systems/s2/coord"
)

// clusterConfig is a node of cluster "c1" with one shared breaker "api"
// that opens at the first failure and recovers after 100ms.
func clusterConfig(t testing.TB, name, redisURL string) *vsm.Config {
	t.Helper()
	y := fmt.Sprintf(`node: {name: %s, cluster: c1}
redis: {url: "%s", timeout: 1s}
circuit_breakers:
  api: {failure_threshold: 1, recovery_timeout: 100ms, coordination: shared}
`, name, redisURL)
	cfg, err := config.Parse(name+".yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startWith(t testing.TB, cfg *vsm.Config, opts ...vsm.Option) *vsm.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := vsm.Start(ctx, cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return n
}

// waitFor receives from ch until match holds, within 10s.
func waitFor[T any](t testing.TB, ch <-chan T, what string, match func(T) bool) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		select {
		case v := <-ch:
			if match(v) {
				return v
			}
		case <-ctx.Done():
			t.Fatalf("no %s within 10s", what)
		}
	}
}

func breakerTo(name, to string) func(*event.BreakerStateChanged) bool {
	return func(e *event.BreakerStateChanged) bool { return e.Name == name && e.To == to }
}

func TestStateInProcessByDefault(t *testing.T) {
	n := startNode(t, nil)
	ctx := context.Background()
	if got := n.StateBackend(); got != "in-process" {
		t.Fatalf("StateBackend = %q", got)
	}
	if err := n.State().Set(ctx, "k", map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	var v map[string]int
	if err := n.State().Get(ctx, "k", &v); err != nil || v["a"] != 1 {
		t.Fatalf("Get = %v, %v", v, err)
	}
	if err := n.State().Get(ctx, "missing", &v); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("Get missing = %v", err)
	}
	s, err := n.Sessions().Create(ctx, map[string]string{"user": "ada"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Sessions().Get(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"s1/redis", "s1/redis/store", "s2/algedonic"} {
		if !slices.Contains(names(n.Tree()), name) {
			t.Errorf("tree %v lacks %s", names(n.Tree()), name)
		}
	}
	if _, ok := n.Breaker(vsm.HealthBreaker); ok {
		t.Error("a health breaker without Redis")
	}
	// An actor uses the same store by message.
	pid, ok := n.StatePID()
	if !ok {
		t.Fatal("no state actor")
	}
	if err := redisstore.AskSet(ctx, n.Root(), pid, "by-message", 7); err != nil {
		t.Fatal(err)
	}
	var seven int
	if err := n.State().Get(ctx, "by-message", &seven); err != nil || seven != 7 {
		t.Fatalf("value set by message: %d, %v", seven, err)
	}
}

// sharedSuite runs the shared-breaker behaviour on nodes made by start.
func sharedSuite(t *testing.T, start func(t *testing.T, name string) *vsm.Node, publish func(ctx context.Context, ch string, v any) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b := start(t, "a"), start(t, "b")
	if !slices.Contains(names(a.Tree()), "s2/breaker/api") {
		t.Fatalf("tree %v lacks s2/breaker/api", names(a.Tree()))
	}
	evA := collect[*event.BreakerStateChanged](t, a)
	evB := collect[*event.BreakerStateChanged](t, b)
	ba, _ := a.Breaker("api")
	bb, _ := b.Breaker("api")
	var halfA, halfB atomic.Int32
	ba.Subscribe(func(tr breaker.Transition) {
		if tr.To == breaker.HalfOpen {
			halfA.Add(1)
		}
	})
	bb.Subscribe(func(tr breaker.Transition) {
		if tr.To == breaker.HalfOpen {
			halfB.Add(1)
		}
	})
	const api = "s1/breaker/api"

	// A trips: B opens.
	boom := errors.New("boom")
	if err := ba.Call(ctx, func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	// B did not trip and nobody opened it by hand: its event and stats
	// say it is held open for the cluster.
	if e := waitFor(t, evB, "open on B", breakerTo(api, "open")); e.Reason != string(breaker.ReasonClusterOpen) {
		t.Fatalf("B's event %+v, want reason cluster_open", e)
	}
	if st := bb.Stats(); st.Forced || !st.Held || st.LastReason != breaker.ReasonClusterOpen {
		t.Fatalf("B held open: forced %v held %v reason %s", st.Forced, st.Held, st.LastReason)
	}
	if err := bb.Call(ctx, func(context.Context) error { return nil }); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("B after A tripped: %v, want ErrOpen", err)
	}

	// Recovery: exactly one node goes half-open and probes; the other
	// keeps rejecting; the verdict closes both.
	poll(t, func() bool { return halfA.Load()+halfB.Load() > 0 })
	prober, other, evOther := ba, bb, evB
	if halfB.Load() > 0 {
		prober, other, evOther = bb, ba, evA
	}
	var ran atomic.Int32
	if err := other.Call(ctx, func(context.Context) error { ran.Add(1); return nil }); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("non-prober in half-open: %v, want ErrOpen", err)
	}
	if err := prober.Call(ctx, func(context.Context) error { ran.Add(1); return nil }); err != nil {
		t.Fatalf("probe: %v", err)
	}
	waitFor(t, evOther, "closed on the other node", breakerTo(api, "closed"))
	if got := halfA.Load() + halfB.Load(); got != 1 || ran.Load() != 1 {
		t.Fatalf("half-open transitions %d, probes run %d; want 1 and 1", got, ran.Load())
	}
	sa, _ := a.SharedBreakerStats("api")
	sb, _ := b.SharedBreakerStats("api")
	if l := sa.Leases.Load() + sb.Leases.Load(); l != 1 {
		t.Fatalf("leases taken %d, want 1", l)
	}

	// Manual open on A through its actor opens B; manual reset on B
	// closes A.
	pidA, _ := a.BreakerPID("api")
	pidB, _ := b.BreakerPID("api")
	// The prober counts and stores its verdict just after publishing it.
	poll(t, func() bool {
		var rec coord.Record
		return a.State().Get(ctx, coord.StateKey("c1", "api"), &rec) == nil && rec.Reason == breaker.ReasonProbesSucceeded
	})
	pubA, pubB := sa.Published.Load(), sb.Published.Load()
	if _, err := breakeractor.Open(ctx, a.Root(), pidA); err != nil {
		t.Fatal(err)
	}
	waitFor(t, evB, "manual open on B", breakerTo(api, "open"))
	if st := bb.Stats(); st.State != breaker.Open || !st.Forced {
		t.Fatalf("B after manual open on A: %+v", st)
	}
	// A node that starts now joins open.
	c := start(t, "c")
	bc, _ := c.Breaker("api")
	poll(t, func() bool { return bc.State() == breaker.Open })
	if _, err := breakeractor.Reset(ctx, b.Root(), pidB); err != nil {
		t.Fatal(err)
	}
	waitFor(t, evA, "reset on A", breakerTo(api, "closed"))
	poll(t, func() bool { return bc.State() == breaker.Closed })

	// Late and duplicated messages never move a breaker backwards.
	stale := sa.Stale.Load()
	if err := publish(ctx, coord.Channel("c1", "api"), coord.Record{State: breaker.Open, Reason: breaker.ReasonFailureThreshold, Node: "ghost", Version: 1, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// The state key is written just after the publish that closed A.
	var cur coord.Record
	poll(t, func() bool {
		return a.State().Get(ctx, coord.StateKey("c1", "api"), &cur) == nil && cur.State == breaker.Closed
	})
	if cur.Version < 2 || cur.Reason != breaker.ReasonReset {
		t.Fatalf("stored state %+v", cur)
	}
	// Each decision was published once, by its node (B counts before it
	// stores): the transitions the others made to apply it were not echoed.
	if d := sb.Published.Load() - pubB; d != 1 {
		t.Fatalf("B published %d records for one reset (echoes?)", d)
	}
	cur.Node = "replay" // a duplicate seen by every node, its author too
	if err := publish(ctx, coord.Channel("c1", "api"), cur); err != nil {
		t.Fatal(err)
	}
	poll(t, func() bool { return sa.Stale.Load() >= stale+2 })
	for _, x := range []*breaker.Breaker{ba, bb, bc} {
		if x.State() != breaker.Closed {
			t.Fatalf("a stale message moved a breaker: %v", x.State())
		}
	}
	if d := sa.Published.Load() - pubA; d != 1 {
		t.Fatalf("A published %d records for one manual open (echoes?)", d)
	}
}

func TestSharedBreakerInProcess(t *testing.T) {
	mem := memory.New()
	t.Cleanup(func() { _ = mem.Close() })
	sharedSuite(t, func(t *testing.T, name string) *vsm.Node {
		// The URL only passes validation: WithStore replaces Redis.
		return startWith(t, clusterConfig(t, name, "redis://127.0.0.1:1"), vsm.WithStore(mem), vsm.WithProbeLease(5*time.Second),
			vsm.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.DebugLevel))))
	}, func(ctx context.Context, ch string, v any) error { return mem.Publish(ctx, ch, v) })
}

func TestSharedBreakerRedis(t *testing.T) {
	srv := redistest.Start(t)
	var first *vsm.Node
	sharedSuite(t, func(t *testing.T, name string) *vsm.Node {
		n := startWith(t, clusterConfig(t, name, srv.URL()), vsm.WithProbeLease(5*time.Second))
		if first == nil {
			first = n
		}
		return n
	}, func(ctx context.Context, ch string, v any) error { return first.State().Publish(ctx, ch, v) })
}

// Kill Redis mid-run: commands fail fast with ErrUnavailable, the health
// breaker opens and a Critical alert is raised; restart it: commands work,
// an Info alert says so, and subscriptions (a user's and the coordination
// bus) deliver again without anyone subscribing again.
func TestRedisKilledAndRestarted(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := startWith(t, clusterConfig(t, "a", srv.URL()), vsm.WithHealthInterval(20*time.Millisecond), vsm.WithProbeLease(5*time.Second))
	b := startWith(t, clusterConfig(t, "b", srv.URL()), vsm.WithProbeLease(5*time.Second))
	if !strings.HasPrefix(a.StateBackend(), "redis(") {
		t.Fatalf("backend %q", a.StateBackend())
	}
	for _, name := range []string{"s1/redis/store", "s4/redis", "s1/breaker/redis", "s2/breaker/api"} {
		if !slices.Contains(names(a.Tree()), name) {
			t.Fatalf("tree %v lacks %s", names(a.Tree()), name)
		}
	}
	alerts := collect[*event.AlertRaised](t, a)
	events := collect[*event.BreakerStateChanged](t, a)
	got := make(chan string, 64)
	sub, err := a.State().Subscribe(ctx, "user.news", func(m state.Message) {
		var s string
		_ = m.Decode(&s)
		got <- s
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := a.State().Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	for i := 0; i < 5; i++ {
		start := time.Now()
		var v int
		if err := a.State().Get(ctx, "k", &v); !errors.Is(err, state.ErrUnavailable) {
			t.Fatalf("Get with Redis down = %v, want ErrUnavailable", err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("Get with Redis down took %v, past the 1s timeout", took)
		}
	}
	waitFor(t, events, "redis breaker open", breakerTo("s1/breaker/redis", "open"))
	al := waitFor(t, alerts, "critical alert", func(e *event.AlertRaised) bool { return e.Source == "s4/redis" })
	if al.Severity != algedonic.Critical.String() {
		t.Fatalf("alert %+v", al)
	}

	// B's shared breaker trips while Redis is down: its record waits.
	bb, _ := b.Breaker("api")
	ba, _ := a.Breaker("api")
	_ = bb.Call(ctx, func(context.Context) error { return errors.New("down") })
	if ba.State() != breaker.Closed {
		t.Fatalf("A's breaker %v with Redis down", ba.State())
	}

	srv.Restart()
	// The coordination bus recovers by itself and B's record arrives:
	// A opens with nobody calling anything.
	poll(t, func() bool { return ba.State() == breaker.Open })
	poll(t, func() bool { return a.State().Set(ctx, "k", 2) == nil })
	al = waitFor(t, alerts, "info alert", func(e *event.AlertRaised) bool { return e.Source == "s4/redis" })
	if al.Severity != algedonic.Info.String() {
		t.Fatalf("alert %+v", al)
	}
	if hb, _ := a.Breaker(vsm.HealthBreaker); hb.State() != breaker.Closed {
		t.Fatalf("health breaker %v after recovery", hb.State())
	}
	poll(t, func() bool {
		_ = a.State().Publish(ctx, "user.news", "again")
		select {
		case s := <-got:
			return s == "again"
		default:
			return false
		}
	})
}

// Alerts travel between nodes over the store: B, subscribed, receives A's
// alert with A's name; nobody publishes it again.
func TestAlertsAcrossNodes(t *testing.T) {
	t.Run("in-process", func(t *testing.T) {
		mem := memory.New()
		t.Cleanup(func() { _ = mem.Close() })
		alertsAcrossNodes(t, func(name string, opts ...vsm.Option) *vsm.Node {
			return startWith(t, clusterConfig(t, name, "redis://127.0.0.1:1"), append(opts, vsm.WithStore(mem))...)
		})
	})
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		alertsAcrossNodes(t, func(name string, opts ...vsm.Option) *vsm.Node {
			return startWith(t, clusterConfig(t, name, srv.URL()), opts...)
		})
	})
}

func alertsAcrossNodes(t *testing.T, start func(name string, opts ...vsm.Option) *vsm.Node) {
	a := start("a")
	b := start("b", vsm.WithRemoteAlerts())
	alertsB := collect[*event.AlertRaised](t, b)
	if err := a.Raise(algedonic.Warning, "test", "disk full"); err != nil {
		t.Fatal(err)
	}
	e := waitFor(t, alertsB, "remote alert on B", func(e *event.AlertRaised) bool { return e.Reason == "disk full" })
	if e.Node != "a" || e.Severity != "warning" || e.Source != "test" {
		t.Fatalf("remote alert %+v", e)
	}
	if err := b.Raise(algedonic.Info, "test", "local"); err != nil {
		t.Fatal(err)
	}
	poll(t, func() bool { return b.AlertBridgeStats().Published == 1 })
	if st := a.AlertBridgeStats(); st.Published != 1 || st.Received != 0 {
		t.Fatalf("A bridge %+v", st)
	}
	if st := b.AlertBridgeStats(); st.Published != 1 || st.Received != 1 {
		t.Fatalf("B bridge %+v (A's alert must not be published again)", st)
	}
}

// A node that dies while it holds the probe lease blocks recovery only
// until the lease expires; then one live node probes.
func TestDeadProberBlocksRecoveryOnlyUntilLeaseExpiry(t *testing.T) {
	mem := memory.New()
	t.Cleanup(func() { _ = mem.Close() })
	const ttl = 300 * time.Millisecond
	start := func(name string) *vsm.Node {
		return startWith(t, clusterConfig(t, name, "redis://127.0.0.1:1"), vsm.WithStore(mem), vsm.WithProbeLease(ttl))
	}
	a, b := start("a"), start("b")
	ba, _ := a.Breaker("api")
	bb, _ := b.Breaker("api")
	half := make(chan time.Time, 4)
	for _, x := range []*breaker.Breaker{ba, bb} {
		x.Subscribe(func(tr breaker.Transition) {
			if tr.To == breaker.HalfOpen {
				half <- time.Now()
			}
		})
	}
	ctx := context.Background()
	// The dead node's lease, taken before the breaker trips.
	deadline := time.Now().Add(ttl)
	if err := mem.Set(ctx, coord.LeaseKey("c1", "api"), "dead-node", state.Expire(ttl)); err != nil {
		t.Fatal(err)
	}
	_ = ba.Call(ctx, func(context.Context) error { return errors.New("boom") })
	at := waitFor(t, half, "a half-open node", func(time.Time) bool { return true })
	if at.Before(deadline) {
		t.Fatalf("a node probed %v before the dead node's lease expired", deadline.Sub(at))
	}
	var holder string
	if err := mem.Get(ctx, coord.LeaseKey("c1", "api"), &holder); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(holder, "a-") && !strings.HasPrefix(holder, "b-") {
		t.Fatalf("lease holder %q", holder)
	}
	select {
	case <-half:
		t.Fatal("two nodes went half-open")
	default:
	}
}

// Two nodes with the same node.name and remote alerts on one real Redis:
// one alert reaches each node once. (The publish reaction told remote
// alerts from local ones by name, so each node published the other's alert
// again: one alert became thousands on each node within a second.) Each
// node warns that another instance shares its name.
func TestSameNameNodesDeliverAlertOnce(t *testing.T) {
	srv := redistest.Start(t)
	start := func() (*vsm.Node, *observer.ObservedLogs) {
		core, logs := observer.New(zap.WarnLevel)
		return startWith(t, clusterConfig(t, "twin", srv.URL()), vsm.WithRemoteAlerts(), vsm.WithLogger(zap.New(core))), logs
	}
	a, logsA := start()
	b, logsB := start()
	if a.InstanceID() == b.InstanceID() || len(a.InstanceID()) != 32 {
		t.Fatalf("instance ids %q and %q", a.InstanceID(), b.InstanceID())
	}
	alertsA := collect[*event.AlertRaised](t, a)
	alertsB := collect[*event.AlertRaised](t, b)
	if err := a.Raise(algedonic.Warning, "test", "disk full"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alertsB, "the alert on B", func(e *event.AlertRaised) bool { return e.Reason == "disk full" })
	// A marker from B, on the same channel: once A has it, any echo of
	// the first alert published before it has arrived too.
	if err := b.Raise(algedonic.Warning, "test", "marker"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alertsA, "the marker on A", func(e *event.AlertRaised) bool { return e.Reason == "marker" })
	// A bridge counts a publication once Redis has acknowledged it, which
	// may be after the other node received it: wait for both counters.
	poll(t, func() bool {
		sa, sb := a.AlertBridgeStats(), b.AlertBridgeStats()
		return sa.Published == 1 && sb.Published == 1 && sa.Received == 1 && sb.Received == 1
	})
	for name, n := range map[string]*vsm.Node{"A": a, "B": b} {
		if st := n.AlertBridgeStats(); st.Published != 1 || st.Received != 1 {
			t.Fatalf("%s bridge %+v, want 1 published and 1 received", name, st)
		}
		if c := n.AlertCount(algedonic.Warning); c != 2 {
			t.Fatalf("%s: S5 received %d warnings, want 2 (its own and the other's, once each)", name, c)
		}
	}
	// B started second: it saw A under its name in the members key; A saw
	// B's marker.
	poll(t, func() bool { return b.AlertBridgeStats().Namesakes == 1 && a.AlertBridgeStats().Namesakes == 1 })
	for name, logs := range map[string]*observer.ObservedLogs{"A": logsA, "B": logsB} {
		if n := logs.FilterMessageSnippet("another node instance runs under this node's name").Len(); n != 1 {
			t.Fatalf("%s logged %d namesake warnings, want 1", name, n)
		}
	}
}
