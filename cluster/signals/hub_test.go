package signals

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/cluster"
	"github.com/viable-systems/vsm-connections/cluster/signalpb"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/systems/s2/coord"
)

// fakeCluster is a membership shared by several hubs of one actor system:
// each member's signals actor is "hub-<name>" there, and Send is a plain
// Send (the remote layer is tested with real processes in cmd/vsmnode).
type fakeCluster struct {
	sys   *actor.ActorSystem
	mu    sync.Mutex
	names []string
}

type fakeMember struct {
	c    *fakeCluster
	name string
}

func (c *fakeCluster) set(names ...string) {
	c.mu.Lock()
	c.names = slices.Sorted(slices.Values(names))
	c.mu.Unlock()
}

func (m *fakeMember) Self() cluster.Member {
	return cluster.Member{Name: m.name, Address: m.c.sys.Address(), Status: cluster.StatusAlive, Self: true}
}

func (m *fakeMember) Members() []cluster.Member {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	var out []cluster.Member
	for _, n := range m.c.names {
		out = append(out, cluster.Member{Name: n, Address: m.c.sys.Address(), Status: cluster.StatusAlive, Self: n == m.name})
	}
	return out
}

func (m *fakeMember) Send(sender actor.SenderContext, pid *actor.PID, msg any) error {
	sender.Send(pid, msg)
	return nil
}

func pidOf(m cluster.Member) *actor.PID { return actor.NewPID(m.Address, "hub-"+m.Name) }

type node struct {
	name   string
	hub    *Hub
	b      *cb.Breaker
	coord  *actor.PID
	stats  *coord.Stats
	alerts chan *algedonic.Alert
}

// start makes a member: its hub's actor, attached, and (with settings) a
// shared breaker "api" whose coordinator runs over the hub.
func start(t *testing.T, c *fakeCluster, name string, s *cb.Settings, ttl time.Duration) *node {
	t.Helper()
	n := &node{name: name, alerts: make(chan *algedonic.Alert, 16), stats: &coord.Stats{}}
	n.hub = New(Config{PIDOf: pidOf, Timeout: 2 * time.Second})
	pid, err := c.sys.Root.SpawnNamed(n.hub.Props(), "hub-"+name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.sys.Root.StopFuture(pid).Wait() })
	n.hub.Attach(&fakeMember{c: c, name: name}, Local{
		Root: c.sys.Root, Name: name, Instance: "i-" + name, PublishMin: algedonic.Warning,
		Deliver: func(a *algedonic.Alert) { n.alerts <- a },
	})
	t.Cleanup(n.hub.Detach)
	if s == nil {
		return n
	}
	n.b = cb.New("api", *s)
	n.coord = c.sys.Root.Spawn(coord.Props(n.b, coord.Env{
		Transport: n.hub.Transport("api"), Node: name, LeaseTTL: ttl, Stats: n.stats, SyncEvery: time.Hour,
	}))
	t.Cleanup(func() { _ = c.sys.Root.StopFuture(n.coord).Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ask.Ask[*coord.Pong](ctx, c.sys.Root, n.coord, &coord.Ping{}); err != nil {
		t.Fatal(err)
	}
	return n
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within 10s", what)
		case <-tick.C:
		}
	}
}

func coordStatus(t *testing.T, sys *actor.ActorSystem, pid *actor.PID) *coord.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := ask.Ask[*coord.Status](ctx, sys.Root, pid, &coord.GetStatus{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func boom(context.Context) error { return errors.New("boom") }

// Three members, no store: a trip on n2 holds n1 and n3 open for the
// cluster (reason cluster_open); after the recovery timeout exactly one
// member gets the probe lease from the leader (n1) and goes half-open
// while the others stay held open; its verdict closes all three; every
// Record is numbered by the leader, in order.
func TestSharedBreakerOverTheCluster(t *testing.T) {
	sys := actortest.NewSystem(t)
	c := &fakeCluster{sys: sys}
	c.set("n1", "n2", "n3")
	s := &cb.Settings{FailureThreshold: 1, RecoveryTimeout: 100 * time.Millisecond}
	ns := []*node{start(t, c, "n1", s, 10*time.Second), start(t, c, "n2", s, 10*time.Second), start(t, c, "n3", s, 10*time.Second)}

	_ = ns[1].b.Call(context.Background(), boom)
	for _, i := range []int{0, 2} {
		poll(t, ns[i].name+" open", func() bool { return ns[i].b.State() != cb.Closed })
	}
	// Now exactly one of the three probes: wait for the first half-open.
	var prober *node
	poll(t, "a prober", func() bool {
		for _, n := range ns {
			if n.b.State() == cb.HalfOpen {
				prober = n
				return true
			}
		}
		return false
	})
	for _, n := range ns {
		st := n.b.Stats()
		switch {
		case n == prober:
		case st.State != cb.Open || !st.Held || st.Forced:
			t.Fatalf("%s while %s probes: %+v, want held open", n.name, prober.name, st)
		case n != ns[1] && st.LastReason != cb.ReasonClusterOpen:
			t.Fatalf("%s held open with reason %s, want cluster_open", n.name, st.LastReason)
		}
	}
	if got := ns[0].hub.Stats(); got.Leader != "n1" || got.Leases != 1 {
		t.Fatalf("leader's stats %+v, want leader n1 and 1 lease", got)
	}
	// The probe succeeds: closed everywhere.
	if err := prober.b.Call(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		poll(t, n.name+" closed", func() bool { return n.b.State() == cb.Closed })
	}
	// Records: open (v1), half_open (v2), closed (v3).
	for _, n := range ns {
		if st := coordStatus(t, sys, n.coord); st.Version != 3 || st.Cluster.State != cb.Closed {
			t.Fatalf("%s: version %d cluster %+v, want 3 and closed", n.name, st.Version, st.Cluster)
		}
	}
	if got := ns[0].hub.Stats(); got.Leases != 1 || got.RecordsSent != 9 {
		t.Fatalf("leader's stats %+v, want 1 lease and 9 records sent (3 records x 3 members)", got)
	}
}

// A manual open on one member is a manual open on all (forced, no
// recovery); a close on another closes all; a stale Record (a replay of an
// old version) moves nothing; a member that joins later starts in the
// cluster's state.
func TestSharedBreakerManualStaleAndJoin(t *testing.T) {
	sys := actortest.NewSystem(t)
	c := &fakeCluster{sys: sys}
	c.set("n1", "n2", "n3")
	s := &cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour}
	ns := []*node{start(t, c, "n1", s, 0), start(t, c, "n2", s, 0), start(t, c, "n3", s, 0)}

	ns[0].b.Open()
	poll(t, "n3 open", func() bool { return ns[2].b.State() == cb.Open })
	if st := ns[2].b.Stats(); !st.Forced || st.LastReason != cb.ReasonManualOpen {
		t.Fatalf("n3 after a manual open on n1: %+v, want forced manual_open", st)
	}
	ns[2].b.Close()
	for _, n := range ns[:2] {
		poll(t, n.name+" closed", func() bool { return n.b.State() == cb.Closed })
	}
	// v1 open (manual), v2 closed. A replayed v1 moves nobody back.
	stale := ns[1].stats.Stale.Load()
	sys.Root.Send(pidOf(cluster.Member{Name: "n2", Address: sys.Address()}), toPB("api", coord.Record{State: cb.Open, Manual: true, Node: "n1", Version: 1}))
	poll(t, "the replay counted stale", func() bool { return ns[1].stats.Stale.Load()-stale == 1 })
	if st := coordStatus(t, sys, ns[1].coord); st.Version != 2 || ns[1].b.State() != cb.Closed {
		t.Fatalf("after a replay of v1: version %d state %v", st.Version, ns[1].b.State())
	}

	// Open again, then n4 joins: it reads the leader's state.
	ns[1].b.Open()
	poll(t, "n1 open", func() bool { return ns[0].b.State() == cb.Open })
	c.set("n1", "n2", "n3", "n4")
	n4 := start(t, c, "n4", s, 0)
	if st := n4.b.Stats(); st.State != cb.Open || !st.Forced {
		t.Fatalf("n4 joined in %+v, want the cluster's manual open", st)
	}
	if st := coordStatus(t, sys, n4.coord); st.Version != 3 || !st.Joined {
		t.Fatalf("n4: %+v, want joined at version 3", st)
	}
}

// When the leader goes, the next member by name takes over from the
// Records it has seen: versions go on (never backwards); a member that was
// probing under the old leader keeps the lease for one lease TTL, since
// the old leader's grant is unknown to the new one.
func TestLeaderTakeover(t *testing.T) {
	sys := actortest.NewSystem(t)
	c := &fakeCluster{sys: sys}
	c.set("n1", "n2", "n3")
	s := &cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour}
	ns := []*node{start(t, c, "n1", s, 0), start(t, c, "n2", s, 0), start(t, c, "n3", s, 0)}
	ctx := context.Background()
	tr3 := ns[2].hub.Transport("api")
	_ = ns[2].b.Call(ctx, boom) // v1 open
	poll(t, "n2 open", func() bool { return ns[1].b.State() == cb.Open })
	// n3 probes under n1 (what its coordinator does once its recovery
	// timer fires): lease, then a half_open Record (v2).
	if ok, newer, err := tr3.AcquireLease(ctx, "n3", time.Hour, 1); !ok || newer != nil || err != nil {
		t.Fatalf("n3's lease from n1 = %v %v %v", ok, newer, err)
	}
	if _, err := tr3.Publish(ctx, coord.Record{State: cb.HalfOpen, Node: "n3"}, 1); err != nil {
		t.Fatal(err)
	}
	poll(t, "n2 saw v2", func() bool { return coordStatus(t, sys, ns[1].coord).Version == 2 })

	c.set("n2", "n3") // n1 is gone: n2 leads
	if l := ns[1].hub.Stats().Leader; l != "n2" {
		t.Fatalf("leader %q, want n2", l)
	}
	ok, newer, err := ns[1].hub.Transport("api").AcquireLease(ctx, "n2", time.Hour, 2)
	if ok || newer != nil || err != nil {
		t.Fatalf("n2's lease while n3 probes = %v %v %v, want refused", ok, newer, err)
	}
	if ok, _, err := tr3.AcquireLease(ctx, "n3", time.Hour, 2); !ok || err != nil {
		t.Fatalf("n3 renews its lease under n2 = %v %v, want granted", ok, err)
	}
	// Its verdict is numbered after every version seen.
	rec, err := tr3.Publish(ctx, coord.Record{State: cb.Closed, Node: "n3"}, 2)
	if err != nil || rec.Version != 3 {
		t.Fatalf("verdict under n2 = %+v %v, want version 3", rec, err)
	}
	poll(t, "n2 closed", func() bool { return ns[1].b.State() == cb.Closed })
}

// Before Attach nobody can coordinate: the transport says so with an
// error that matches state.ErrUnavailable (the coordinator then recovers
// on its own).
func TestNotAttached(t *testing.T) {
	h := New(Config{})
	_, err := h.Transport("api").Read(context.Background())
	if !errors.Is(err, ErrNotAttached) || !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("Read before Attach: %v", err)
	}
}

// An alert raised on n3 reaches n1 and n2 once each, with n3's instance;
// delivered alerts are never sent on again (no echo); a member's own
// instance and invalid alerts are refused.
func TestAlertsFanOut(t *testing.T) {
	sys := actortest.NewSystem(t)
	c := &fakeCluster{sys: sys}
	c.set("n1", "n2", "n3")
	ns := []*node{start(t, c, "n1", nil, 0), start(t, c, "n2", nil, 0), start(t, c, "n3", nil, 0)}
	at := time.Now().Add(-time.Second).Round(0)
	react := ns[2].hub.Reaction()
	react(&algedonic.Alert{Severity: algedonic.Critical, Source: "ops", Reason: "disk", Node: "n3", Time: at})
	react(&algedonic.Alert{Severity: algedonic.Info, Source: "ops", Reason: "below publish_min", Node: "n3", Time: at})
	for _, n := range ns[:2] {
		select {
		case a := <-n.alerts:
			want := algedonic.Alert{Severity: algedonic.Critical, Source: "ops", Reason: "disk", Node: "n3", Time: at, Instance: "i-n3"}
			if !a.Time.Equal(at) || a.Severity != want.Severity || a.Source != want.Source || a.Reason != want.Reason ||
				a.Node != want.Node || a.Instance != want.Instance {
				t.Fatalf("%s got %+v, want %+v", n.name, a, want)
			}
			// What S5 does with it: the reaction sees a remote alert.
			n.hub.Reaction()(a)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s got no alert", n.name)
		}
	}
	// Own instance, bad severity, no origin: refused.
	for _, m := range []*signalpb.Alert{
		{Severity: 3, Node: "n3", Instance: "i-n1"},
		{Severity: 9, Node: "n3", Instance: "i-n3"},
		{Severity: 3, Instance: "i-n3"},
	} {
		sys.Root.Send(pidOf(cluster.Member{Name: "n1", Address: sys.Address()}), m)
	}
	poll(t, "refusals", func() bool { return ns[0].hub.Stats().AlertsRefused == 3 })
	if got := ns[2].hub.Stats(); got.AlertsSent != 2 || got.AlertsFailed != 0 {
		t.Fatalf("n3 sent %+v, want 2 (one per other member)", got)
	}
	for _, n := range ns[:2] {
		if got := n.hub.Stats(); got.AlertsSent != 0 || got.AlertsReceived != 1 {
			t.Fatalf("%s: %+v, want 1 received and nothing sent on", n.name, got)
		}
		select {
		case a := <-n.alerts:
			t.Fatalf("%s got a second alert %+v", n.name, a)
		default:
		}
	}
}

// A peer's alert overtakes the breaker traffic queued in the signals
// actor's mailbox (it arrives bare, and the mailbox is a priority one),
// and goes on to Deliver at once.
func TestAlertOvertakesQueuedRecords(t *testing.T) {
	sys := actortest.NewSystem(t)
	c := &fakeCluster{sys: sys}
	c.set("n1", "n2")
	n := start(t, c, "n1", nil, 0)
	pid := pidOf(cluster.Member{Name: "n1", Address: sys.Address()})
	// A coordinator stand-in that blocks on the first Record until the
	// queue behind it is full, then counts the rest.
	release := make(chan struct{})
	var mu sync.Mutex
	handled, atAlert := 0, -1
	delivered := make(chan struct{})
	// Counted in Deliver itself, on the actor: the test goroutine wakes
	// too late to tell.
	l := *n.hub.loc()
	l.Deliver = func(*algedonic.Alert) {
		mu.Lock()
		atAlert = handled
		mu.Unlock()
		close(delivered)
	}
	n.hub.local.Store(&l)
	closeSub, _ := n.hub.Transport("api").Subscribe(context.Background(), func(coord.Record) {
		mu.Lock()
		first := handled == 0
		handled++
		mu.Unlock()
		if first {
			<-release
		}
	})
	defer closeSub.Close()
	const queued = 1000
	for i := range queued {
		sys.Root.Send(pid, toPB("api", coord.Record{State: cb.Open, Node: "n2", Version: int64(i + 1)}))
	}
	sys.Root.Send(pid, &signalpb.Alert{Severity: 4, Source: "s", Reason: "r", Node: "n2", Instance: "i-n2"})
	close(release)
	select {
	case <-delivered:
	case <-time.After(5 * time.Second):
		t.Fatal("no alert delivered")
	}
	mu.Lock()
	defer mu.Unlock()
	// 0: the alert came before the actor took the first record; 1 or 2:
	// after the blocked one (and one the mailbox already held). Without
	// the priority mailbox it is 1000.
	if atAlert > 2 {
		t.Fatalf("the alert was delivered after %d of %d queued records, want it ahead of them", atAlert, queued)
	}
}
