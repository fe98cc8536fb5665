package s1

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// Every unit S1 starts, whatever actor it is, runs its mailbox on a stack
// grown in advance (internal/dispatch): a handler a few KB deep does not
// make the runtime copy the stack mid-message.
func TestUnitsRunOnGrownStack(t *testing.T) {
	sys, s := benchS1(t)
	mw, moved := actortest.StackProber()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pid, err := s.startChild(ctx, Name, supervisor.ChildSpec{
		Name:  "probe",
		Props: actor.PropsFromFunc(func(actor.Context) {}, actor.WithReceiverMiddleware(mw)),
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := actortest.CountMoved(ctx, sys.Root, pid, moved, actortest.Probes)
	if err != nil || n > actortest.MaxMoved {
		t.Fatalf("the stack was grown during the handler in %d of %d probes (%v)", n, actortest.Probes, err)
	}
}

// A unit's own children run on it too: the state actor below the Redis
// unit (s1/redis/store).
func TestStateActorRunsOnGrownStack(t *testing.T) {
	sys, s := benchS1(t)
	mw, moved := actortest.StackProber()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := s.StartState(ctx, config.Redis{}, StateOptions{StoreMiddleware: []actor.ReceiverMiddleware{mw}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	pid, ok := s.StatePID()
	if !ok {
		t.Fatal("no state actor")
	}
	n, err := actortest.CountMoved(ctx, sys.Root, pid, moved, actortest.Probes)
	if err != nil || n > actortest.MaxMoved {
		t.Fatalf("the stack was grown during the handler in %d of %d probes (%v)", n, actortest.Probes, err)
	}
}
