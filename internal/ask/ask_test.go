package ask_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/viable-systems/vsm-connections/internal/ask"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type ping struct{}
type pong struct{ n int }

func TestAsk(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(10 * time.Millisecond))
	hold := make(chan struct{})
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *ping:
			c.Respond(&pong{n: 7})
		case string:
			<-hold
			c.Respond("late")
		case int:
			c.Respond("wrong type")
		}
	}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()

	got, err := ask.Ask[*pong](context.Background(), sys.Root, pid, &ping{})
	if err != nil || got.n != 7 {
		t.Fatalf("Ask = %v, %v", got, err)
	}
	if _, err := ask.Ask[*pong](context.Background(), sys.Root, pid, 1); err == nil {
		t.Fatal("a reply of the wrong type was accepted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := ask.Ask[string](ctx, sys.Root, pid, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow reply: %v, want DeadlineExceeded", err)
	}
	close(hold) // the late reply goes to a removed process: no race, no leak
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := ask.Ask[*pong](cancelled, sys.Root, pid, &ping{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	gone := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	_ = sys.Root.StopFuture(gone).Wait()
	if _, err := ask.Ask[*pong](context.Background(), sys.Root, gone, &ping{}); !errors.Is(err, ask.ErrNoActor) {
		t.Fatalf("stopped actor: %v, want ErrNoActor", err)
	}
}

// ContextError names the context as the cause when it is one, and leaves
// other errors alone.
func TestContextError(t *testing.T) {
	other := errors.New("other")
	if err := ask.ContextError(context.Background(), other); err != other {
		t.Fatalf("no deadline: %v", err)
	}
	dl, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if err := ask.ContextError(dl, actor.ErrTimeout); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("future timeout at ctx's deadline: %v", err)
	}
	if err := ask.ContextError(dl, other); err != other {
		t.Fatalf("with a deadline, another error: %v", err)
	}
	gone, stop := context.WithCancel(context.Background())
	stop()
	if err := ask.ContextError(gone, other); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// A context with a deadline bounds the wait by itself: Ask arms no timer
// of its own for it (a timer is three allocations), only for a context
// without one.
func TestAskWithDeadlineArmsNoTimer(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(10 * time.Millisecond))
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*ping); ok {
			c.Respond(&pong{n: 1})
		}
	}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	allocs := func(ctx context.Context) float64 {
		return testing.AllocsPerRun(200, func() {
			if r, err := ask.Ask[*pong](ctx, sys.Root, pid, &ping{}); err != nil || r.n != 1 {
				t.Fatalf("Ask = %v, %v", r, err)
			}
		})
	}
	dl, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	without, with := allocs(context.Background()), allocs(dl)
	t.Logf("allocations per Ask: %.2f with a deadline, %.2f without", with, without)
	if without-with < 2 {
		t.Fatalf("allocations per Ask: %.1f with a deadline, %.1f without: want about 3 fewer (no timer)", with, without)
	}
}
