// Package actortest holds what tests of actors share: a quiet actor system
// and a receiver middleware that crashes an actor on demand and counts its
// starts, so a test can prove what survives a restart.
package actortest

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// NewSystem returns an actor system that logs nothing and keeps protoactor's
// dead-letter throttle short (it parks a goroutine for one interval, which
// goleak would otherwise see). tb, when not nil, shuts it down at cleanup.
func NewSystem(tb testing.TB) *actor.ActorSystem {
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	if tb != nil {
		tb.Cleanup(sys.Shutdown)
	}
	return sys
}

// Crash is the message on which a Crasher's middleware panics, before the
// actor sees it.
type Crash struct{}

// Crasher returns a middleware for the actor under test (Props.Configure(
// actor.WithReceiverMiddleware(mw))) and a channel that receives the running
// count of its Started messages: 1 at spawn, 2 after the first restart ...
func Crasher(buffer int) (mw actor.ReceiverMiddleware, starts <-chan int32) {
	var n atomic.Int32
	ch := make(chan int32, buffer)
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			switch env.Message.(type) {
			case *actor.Started:
				ch <- n.Add(1)
			case *Crash:
				panic("actortest: crash on demand")
			}
			next(c, env)
		}
	}, ch
}
