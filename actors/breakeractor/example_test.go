package breakeractor_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/breakeractor"
	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/event"
)

func Example() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer sys.Shutdown()
	changed := make(chan *event.BreakerStateChanged, 4)
	sub := sys.EventStream.Subscribe(func(m any) {
		if e, ok := m.(*event.BreakerStateChanged); ok {
			changed <- e
		}
	})
	defer sys.EventStream.Unsubscribe(sub)

	// The node makes the breaker, hands it to the actor and gives the handle
	// to plain Go code.
	b := cb.New("api", cb.Settings{FailureThreshold: 1})
	pid := sys.Root.Spawn(breakeractor.Props(b, breakeractor.Env{Events: sys.EventStream, Name: "s1/breaker/api"}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// An operator (or any actor) drives it by PID.
	st, err := breakeractor.Open(ctx, sys.Root, pid)
	fmt.Println(st.State, st.Forced, err)
	e := <-changed
	fmt.Println(e.Name, e.From, "->", e.To, e.Reason)
	// Output:
	// open true <nil>
	// s1/breaker/api closed -> open manual_open
}
