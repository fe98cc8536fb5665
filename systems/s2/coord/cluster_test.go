package coord_test

import (
	"context"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/algedonic"
	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/internal/redistest"
	"github.com/viable-systems/vsm-connections/systems/s2/coord"
)

func clusterStore(t *testing.T, c *redistest.Cluster) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(config.Redis{Addrs: c.Addrs(), Timeout: config.Duration(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// A shared breaker on a real Redis Cluster, each node with its own
// cluster client: its keys share a slot (hash tag), so the lease
// transaction that watches the lease and state keys runs; a trip on x holds
// y open; one node probes; its verdict closes both; and the cluster's
// alerts (a pattern subscription) reach the other node.
func TestSharedBreakerOnRedisCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	for _, k := range []string{coord.StateKey("t", "api"), coord.VersionKey("t", "api"), coord.LeaseKey("t", "api")} {
		if got, want := c.Slot(k), c.Slot(coord.Channel("t", "api")); got != want {
			t.Fatalf("%s is in slot %d, the channel in %d: a transaction on them would fail", k, got, want)
		}
	}
	sys := actortest.NewSystem(t)
	stx, sty := clusterStore(t, c), clusterStore(t, c)
	ctx := context.Background()
	const recovery = 300 * time.Millisecond
	bx := cb.New("api", cb.Settings{FailureThreshold: 1, RecoveryTimeout: recovery})
	by := cb.New("api", cb.Settings{FailureThreshold: 1, RecoveryTimeout: recovery})
	sx, sy := &coord.Stats{}, &coord.Stats{}
	px := spawnUnder(t, sys, coord.Props(bx, coord.Env{Store: stx, Cluster: "t", Node: "x", Stats: sx, LeaseTTL: 5 * time.Second}))
	py := spawnUnder(t, sys, coord.Props(by, coord.Env{Store: sty, Cluster: "t", Node: "y", Stats: sy, LeaseTTL: 5 * time.Second}))
	ping(t, sys, px, 5*time.Second)
	ping(t, sys, py, 5*time.Second)

	_ = bx.Call(ctx, boom)
	poll(t, func() bool { return by.State() == cb.Open })
	if st := by.Stats(); !st.Held || st.LastReason != cb.ReasonClusterOpen {
		t.Fatalf("y is not held open for the cluster: held %v reason %s", st.Held, st.LastReason)
	}
	// After the recovery timeout exactly one node holds the lease and
	// probes; the other stays open.
	poll(t, func() bool { return bx.State() == cb.HalfOpen || by.State() == cb.HalfOpen })
	prober, other := bx, by
	if by.State() == cb.HalfOpen {
		prober, other = by, bx
	}
	if s := other.State(); s != cb.Open {
		t.Fatalf("while %s probes the other is %s, want open", prober.Name(), s)
	}
	if n := sx.Leases.Load() + sy.Leases.Load(); n != 1 {
		t.Fatalf("%d leases taken, want 1", n)
	}
	if err := prober.Call(ctx, func(context.Context) error { return nil }); err != nil {
		t.Fatalf("probe call: %v", err)
	}
	poll(t, func() bool { return bx.State() == cb.Closed && by.State() == cb.Closed })
	// The verdict is published before it is stored (publishRecord), so the
	// other node can close before the state key says so.
	var rec coord.Record
	poll(t, func() bool { return stx.Get(ctx, coord.StateKey("t", "api"), &rec) == nil && rec.State == cb.Closed })
	if want := map[*cb.Breaker]string{bx: "x", by: "y"}[prober]; rec.Node != want || rec.Reason != cb.ReasonProbesSucceeded {
		t.Fatalf("state key = %+v; want closed by %s for %s", rec, want, cb.ReasonProbesSucceeded)
	}

	// Alerts go through a pattern subscription (PSUBSCRIBE).
	got := make(chan *algedonic.Alert, 4)
	ax := coord.NewAlertBridge(coord.AlertEnv{Store: stx, Cluster: "t", Node: "x-1"})
	ay := coord.NewAlertBridge(coord.AlertEnv{Store: sty, Cluster: "t", Node: "y-1", Remote: true,
		Deliver: func(a *algedonic.Alert) { got <- a }})
	pax := spawnUnder(t, sys, ax.Props())
	pay := spawnUnder(t, sys, ay.Props())
	ping(t, sys, pax, 5*time.Second)
	ping(t, sys, pay, 5*time.Second)
	ax.Publish(&algedonic.Alert{Severity: algedonic.Critical, Source: "s1/pool/api", Reason: "down"})
	select {
	case a := <-got:
		if a.Severity != algedonic.Critical || a.Source != "s1/pool/api" || a.Instance != "x-1" {
			t.Fatalf("y received %+v", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the alert did not reach y")
	}
}
