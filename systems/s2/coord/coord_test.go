package coord_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/memory"
	"github.com/viable-systems/vsm-connections/systems/s2/coord"
)

func ExampleChannel() {
	fmt.Println(coord.Channel("prod", "payments"))
	fmt.Println(coord.StateKey("prod", "payments"))
	fmt.Println(coord.VersionKey("prod", "payments"))
	fmt.Println(coord.LeaseKey("prod", "payments"))
	fmt.Println(coord.AlertChannel("prod", algedonic.Critical))
	// Output:
	// vsm:{prod:breaker:payments}
	// vsm:{prod:breaker:payments}:state
	// vsm:{prod:breaker:payments}:version
	// vsm:{prod:breaker:payments}:probe
	// vsm:prod:algedonic:critical
}

func poll(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met within 10s")
		case <-tick.C:
		}
	}
}

func ping(t *testing.T, sys *actor.ActorSystem, pid *actor.PID, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if _, err := ask.Ask[*coord.Pong](ctx, sys.Root, pid, &coord.Ping{}); err != nil {
		t.Fatalf("ping within %v: %v", within, err)
	}
}

func status(t *testing.T, sys *actor.ActorSystem, pid *actor.PID) *coord.Status {
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

// spawnUnder spawns props as the child of a parent that restarts it, so a
// panic is a real restart.
func spawnUnder(t *testing.T, sys *actor.ActorSystem, props *actor.Props) *actor.PID {
	t.Helper()
	child := make(chan *actor.PID, 1)
	strategy := actor.NewOneForOneStrategy(10, time.Minute, func(any) actor.Directive { return actor.RestartDirective })
	parent := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			child <- c.Spawn(props)
		}
	}, actor.WithSupervisor(strategy)))
	t.Cleanup(func() { _ = sys.Root.StopFuture(parent).Wait() })
	return <-child
}

// Two coordinators on one store, without a node: a trip on one holds the
// other open (held for the cluster, not a manual open); a real restart (a
// panic) of a coordinator keeps it in the cluster with its state; a stale
// record is counted and ignored.
func TestCoordinatorsShareOneStore(t *testing.T) {
	sys := actortest.NewSystem(t)
	mem := memory.New()
	defer mem.Close()
	ctx := context.Background()
	bx := cb.New("api", cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	by := cb.New("api", cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	sx, sy := &coord.Stats{}, &coord.Stats{}
	mw, starts := actortest.Crasher(8)
	px := spawnUnder(t, sys, coord.Props(bx, coord.Env{Store: mem, Cluster: "t", Node: "x", Stats: sx}))
	py := spawnUnder(t, sys, coord.Props(by, coord.Env{Store: mem, Cluster: "t", Node: "y", Stats: sy}).
		Configure(actor.WithReceiverMiddleware(mw)))
	if n := <-starts; n != 1 {
		t.Fatalf("starts %d", n)
	}
	for _, p := range []*actor.PID{px, py} {
		ping(t, sys, p, 5*time.Second)
	}

	_ = bx.Call(ctx, boom)
	poll(t, func() bool { return by.State() == cb.Open })
	// y did not trip and nobody opened it by hand: it says so.
	if st := by.Stats(); st.Forced || !st.Held || st.LastReason != cb.ReasonClusterOpen {
		t.Fatalf("y is not held open for the cluster: forced %v held %v reason %s", st.Forced, st.Held, st.LastReason)
	}
	if st := bx.Stats(); st.Forced || !st.Held || st.LastReason != cb.ReasonFailureThreshold {
		t.Fatalf("x, which tripped: forced %v held %v reason %s", st.Forced, st.Held, st.LastReason)
	}
	before := status(t, sys, py)
	if before.Version != 1 || !before.Joined || before.Cluster.State != cb.Open || !before.Recovering {
		t.Fatalf("y before the restart: %+v", before)
	}

	// A real restart: the coordinator panics and its supervisor restarts
	// it. It keeps its version, its view and its subscriptions.
	sys.Root.Send(py, &actortest.Crash{})
	select {
	case n := <-starts:
		if n != 2 {
			t.Fatalf("starts %d, want 2", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the coordinator was not restarted")
	}
	after := status(t, sys, py)
	if after.Version != before.Version || after.Cluster != before.Cluster || !after.Joined || !after.Recovering ||
		after.State != cb.Open {
		t.Fatalf("y after the restart: %+v, before %+v", after, before)
	}
	// The subscriptions survived: a close on y still reaches x, and x's
	// records still reach y.
	by.Close()
	poll(t, func() bool { return bx.State() == cb.Closed })
	_ = bx.Call(ctx, boom)
	poll(t, func() bool { return by.State() == cb.Open })
	bx.Close()
	poll(t, func() bool { return by.State() == cb.Closed })

	if err := mem.Publish(ctx, coord.Channel("t", "api"), coord.Record{State: cb.Open, Node: "z", Version: 1}); err != nil {
		t.Fatal(err)
	}
	poll(t, func() bool { return sx.Stale.Load() == 1 && sy.Stale.Load() == 1 })
	if bx.State() != cb.Closed || by.State() != cb.Closed {
		t.Fatalf("a stale record moved a breaker: x %v y %v", bx.State(), by.State())
	}
	if sx.Published.Load() != 3 || sy.Published.Load() != 1 {
		t.Fatalf("published x %d y %d, want 3 and 1 (no echoes)", sx.Published.Load(), sy.Published.Load())
	}
}

// A manual open on a node whose breaker the cluster holds open is a real
// manual open: published, applied on every node as one (forced, reason
// manual_open), with no recovery timer anywhere until a close.
func TestManualOpenWhileHeld(t *testing.T) {
	sys := actortest.NewSystem(t)
	mem := memory.New()
	defer mem.Close()
	ctx := context.Background()
	bx := cb.New("api", cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	by := cb.New("api", cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	px := spawnUnder(t, sys, coord.Props(bx, coord.Env{Store: mem, Cluster: "t", Node: "x"}))
	py := spawnUnder(t, sys, coord.Props(by, coord.Env{Store: mem, Cluster: "t", Node: "y"}))
	ping(t, sys, px, 5*time.Second)
	ping(t, sys, py, 5*time.Second)

	_ = bx.Call(ctx, boom)
	poll(t, func() bool { return by.State() == cb.Open })
	by.Open() // by hand, while held
	poll(t, func() bool { return bx.Stats().Forced })
	for name, b := range map[string]*cb.Breaker{"x": bx, "y": by} {
		if st := b.Stats(); st.State != cb.Open || !st.Forced || st.Held || st.LastReason != cb.ReasonManualOpen {
			t.Fatalf("%s after a manual open on y: %v forced %v held %v reason %s", name, st.State, st.Forced, st.Held, st.LastReason)
		}
		if _, ok := b.NextTransition(); ok {
			t.Fatalf("%s: the breaker's own recovery is armed", name)
		}
	}
	for name, p := range map[string]*actor.PID{"x": px, "y": py} {
		st := status(t, sys, p)
		if st.Recovering || !st.Cluster.Manual || st.Cluster.State != cb.Open || st.Version != 2 {
			t.Fatalf("%s: %+v, want a manual open (version 2) and no recovery", name, st)
		}
	}
	var rec coord.Record
	poll(t, func() bool {
		return mem.Get(ctx, coord.StateKey("t", "api"), &rec) == nil && rec.Version == 2
	})
	if !rec.Manual || rec.Node != "y" {
		t.Fatalf("stored %+v", rec)
	}
	bx.Close()
	poll(t, func() bool { return by.State() == cb.Closed })
}

// gatedStore blocks Incr (the first call of every publish) until the gate
// opens or the call's context ends.
type gatedStore struct {
	state.Store
	gate    chan struct{}
	entered chan struct{}
}

func (s *gatedStore) Incr(ctx context.Context, key string) (int64, error) {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	select {
	case <-s.gate:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return s.Store.Incr(ctx, key)
}

// A coordinator whose store calls block still answers at once: its store
// calls run off its mailbox, in the order it decided them, and their
// results come back as messages. (It made them in Receive, so a slow Redis
// stalled its mailbox for up to Env.Timeout per call.)
func TestSlowStoreDoesNotBlockMailbox(t *testing.T) {
	sys := actortest.NewSystem(t)
	mem := memory.New()
	defer mem.Close()
	ctx := context.Background()
	gs := &gatedStore{Store: mem, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	var once sync.Once
	release := func() { once.Do(func() { close(gs.gate) }) }
	defer release()
	b := cb.New("api", cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	stats := &coord.Stats{}
	pid := spawnUnder(t, sys, coord.Props(b, coord.Env{Store: gs, Cluster: "t", Node: "x", Timeout: 20 * time.Second, Stats: stats}))
	ping(t, sys, pid, 5*time.Second)
	var mu sync.Mutex
	var bus []coord.Record
	sub, err := mem.Subscribe(ctx, coord.Channel("t", "api"), func(m state.Message) {
		var r coord.Record
		if m.Decode(&r) == nil {
			mu.Lock()
			bus = append(bus, r)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	_ = b.Call(ctx, boom) // a publish, blocked in Incr
	select {
	case <-gs.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the coordinator did not publish")
	}
	b.Close() // a second decision, queued behind the first
	ping(t, sys, pid, time.Second)
	poll(t, func() bool { return status(t, sys, pid).Queued == 2 })
	if st := status(t, sys, pid); st.Version != 0 || st.State != cb.Closed {
		t.Fatalf("while the store blocks: %+v", st)
	}

	release()
	poll(t, func() bool { return stats.Published.Load() == 2 && status(t, sys, pid).Queued == 0 })
	var rec coord.Record
	poll(t, func() bool { return mem.Get(ctx, coord.StateKey("t", "api"), &rec) == nil && rec.Version == 2 })
	if rec.State != cb.Closed || rec.Reason != cb.ReasonManualClose {
		t.Fatalf("stored %+v, want the close (version 2)", rec)
	}
	poll(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(bus) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if bus[0].State != cb.Open || bus[0].Version != 1 || bus[1].State != cb.Closed || bus[1].Version != 2 {
		t.Fatalf("bus %+v, want open v1 then closed v2", bus)
	}
}

// A Record from the bus that arrives while this node's own decision is
// being numbered waits for the number: here another node's close (version
// 5) arrives while the trip is blocked in Incr; the trip then gets version 6,
// so the close is stale and the breaker stays open, as every other node
// will see it. (Applied at once, the close would have closed this node
// while the cluster opened.)
func TestBusRecordWaitsForOwnVersion(t *testing.T) {
	sys := actortest.NewSystem(t)
	mem := memory.New()
	defer mem.Close()
	ctx := context.Background()
	if err := mem.Set(ctx, coord.VersionKey("t", "api"), 5); err != nil {
		t.Fatal(err)
	}
	gs := &gatedStore{Store: mem, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	var once sync.Once
	release := func() { once.Do(func() { close(gs.gate) }) }
	defer release()
	b := cb.New("api", cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	stats := &coord.Stats{}
	pid := spawnUnder(t, sys, coord.Props(b, coord.Env{Store: gs, Cluster: "t", Node: "x", Timeout: 20 * time.Second, Stats: stats}))
	ping(t, sys, pid, 5*time.Second)

	_ = b.Call(ctx, boom)
	select {
	case <-gs.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the coordinator did not publish")
	}
	if err := mem.Publish(ctx, coord.Channel("t", "api"), coord.Record{State: cb.Closed, Reason: cb.ReasonManualClose, Node: "z", Version: 5}); err != nil {
		t.Fatal(err)
	}
	poll(t, func() bool { return status(t, sys, pid).Deferred == 5 })
	if b.State() != cb.Open {
		t.Fatalf("the close was applied before the trip was numbered: %v", b.State())
	}
	release()
	poll(t, func() bool { return stats.Stale.Load() == 1 && status(t, sys, pid).Queued == 0 })
	st := status(t, sys, pid)
	if b.State() != cb.Open || st.Version != 6 || st.Cluster.State != cb.Open {
		t.Fatalf("after the trip got version 6: %v, %+v", b.State(), st)
	}
	if stats.Applied.Load() != 0 {
		t.Fatalf("applied %d records, want 0", stats.Applied.Load())
	}
}
