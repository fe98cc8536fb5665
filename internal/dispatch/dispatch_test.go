package dispatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/internal/dispatch"
)

func wait(t *testing.T, ch <-chan bool) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatal("no answer from the probe")
		return false
	}
}

// A scheduled run starts on a stack that already has room for a handler:
// a call needing actortest.ProbeBytes more does not make the runtime copy
// it. On a plain goroutine (protoactor's default dispatcher) it does.
func TestScheduledRunHasGrownStack(t *testing.T) {
	d := dispatch.New()
	if d.Throughput() != dispatch.DefaultThroughput {
		t.Fatalf("throughput %d, want %d", d.Throughput(), dispatch.DefaultThroughput)
	}
	n := 0
	for range actortest.Probes { // each run is a new goroutine
		ch := make(chan bool, 1)
		d.Schedule(func() { ch <- actortest.StackMoved() })
		if wait(t, ch) {
			n++
		}
	}
	if n > actortest.MaxMoved {
		t.Fatalf("the stack was grown during the handler in %d of %d runs", n, actortest.Probes)
	}
	ch := make(chan bool, 1)
	go func() { ch <- actortest.StackMoved() }()
	t.Logf("on a plain goroutine the probe moved the stack: %v", wait(t, ch))
}

// An actor spawned with the dispatcher handles its messages on a grown
// stack, in order, and stops cleanly.
func TestActorOnDispatcher(t *testing.T) {
	sys := actortest.NewSystem(t)
	mw, moved := actortest.StackProber()
	got := make(chan int, 3)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if n, ok := c.Message().(int); ok {
			got <- n
		}
	}, actor.WithDispatcher(dispatch.New()), actor.WithReceiverMiddleware(mw)))
	for i := range 3 {
		sys.Root.Send(pid, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := actortest.CountMoved(ctx, sys.Root, pid, moved, actortest.Probes)
	if err != nil || n > actortest.MaxMoved {
		t.Fatalf("the stack was grown during the handler in %d of %d probes (%v)", n, actortest.Probes, err)
	}
	for i := range 3 {
		if n := <-got; n != i {
			t.Fatalf("message %d arrived as %d", i, n)
		}
	}
	if err := sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
}
