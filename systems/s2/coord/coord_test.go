package coord_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
	cb "github.com/viable-systems/vsm-connections/breaker"
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
	// vsm:prod:breaker:payments
	// vsm:prod:breaker:payments:state
	// vsm:prod:breaker:payments:version
	// vsm:prod:breaker:payments:probe
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

// Two coordinators on one store, without a node: a trip on one holds the
// other open; a restart of a coordinator keeps it in the cluster; a stale
// record is counted and ignored.
func TestCoordinatorsShareOneStore(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(50 * time.Millisecond))
	defer sys.Shutdown()
	mem := memory.New()
	defer mem.Close()
	ctx := context.Background()
	bx := cb.New("api", cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	by := cb.New("api", cb.Settings{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	sx, sy := &coord.Stats{}, &coord.Stats{}
	px := sys.Root.Spawn(coord.Props(bx, coord.Env{Store: mem, Cluster: "t", Node: "x", Stats: sx}))
	py := sys.Root.Spawn(coord.Props(by, coord.Env{Store: mem, Cluster: "t", Node: "y", Stats: sy}))
	defer func() {
		_ = sys.Root.StopFuture(px).Wait()
		_ = sys.Root.StopFuture(py).Wait()
	}()
	for _, p := range []*actor.PID{px, py} {
		if _, err := sys.Root.RequestFuture(p, &coord.Ping{}, 5*time.Second).Result(); err != nil {
			t.Fatal(err)
		}
	}

	_ = bx.Call(ctx, func(context.Context) error { return errors.New("boom") })
	poll(t, func() bool { return by.State() == cb.Open })
	if st := by.Stats(); !st.Forced {
		t.Fatalf("y is not held open: %+v", st)
	}

	// A restart keeps the subscriptions: a close on y still reaches x.
	sys.Root.Send(py, &actor.Restart{})
	if _, err := sys.Root.RequestFuture(py, &coord.Ping{}, 5*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	by.Close()
	poll(t, func() bool { return bx.State() == cb.Closed })

	if err := mem.Publish(ctx, coord.Channel("t", "api"), coord.Record{State: cb.Open, Node: "z", Version: 1}); err != nil {
		t.Fatal(err)
	}
	poll(t, func() bool { return sx.Stale.Load() == 1 && sy.Stale.Load() == 1 })
	if bx.State() != cb.Closed || by.State() != cb.Closed {
		t.Fatalf("a stale record moved a breaker: x %v y %v", bx.State(), by.State())
	}
	if sx.Published.Load() != 1 || sy.Published.Load() != 1 {
		t.Fatalf("published x %d y %d, want 1 each (no echoes)", sx.Published.Load(), sy.Published.Load())
	}
}
