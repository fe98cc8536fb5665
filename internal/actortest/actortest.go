// Package actortest holds what tests of actors share: a quiet actor system,
// a receiver middleware that crashes an actor on demand and counts its
// starts, so a test can prove what survives a restart, and a stack probe
// that tells whether an actor's mailbox runs on a stack grown in advance
// (internal/dispatch).
package actortest

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

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

// ProbeBytes is the stack StackMoved's call needs: more than a goroutine
// starts with, less than what internal/dispatch gives a mailbox run.
const ProbeBytes = 3 << 10

// StackMoved reports whether a call needing ProbeBytes more stack made the
// runtime grow the calling goroutine's stack. A grown stack is a copy at
// another address, so the address of a local changes across the call.
// Used from a handler, it tells whether the actor's mailbox runs on a
// stack grown in advance (internal/dispatch).
func StackMoved() bool {
	var x byte
	before := uintptr(unsafe.Pointer(&x))
	deep(0)
	return uintptr(unsafe.Pointer(&x)) != before
}

//go:noinline
func deep(i int) byte {
	var pad [ProbeBytes]byte
	pad[i] = byte(i)
	return pad[len(pad)-1-i]
}

// StackProbe is the message on which a StackProber's middleware answers
// StackMoved on its channel.
type StackProbe struct{}

// StackProber returns a receiver middleware that, on a *StackProbe, sends
// StackMoved() (on the mailbox's goroutine) to the returned channel.
func StackProber() (mw actor.ReceiverMiddleware, moved <-chan bool) {
	ch := make(chan bool, 16)
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			if _, ok := env.Message.(*StackProbe); ok {
				ch <- StackMoved()
				return
			}
			next(c, env)
		}
	}, ch
}

// Probes and MaxMoved are how a test of a dispatcher reads StackMoved:
// send Probes probes (each after the mailbox went idle, so each on a new
// goroutine) and allow MaxMoved of them to find the stack grown. A garbage
// collection between a run's start and its probe may shrink a stack that
// uses under a quarter of its size, so a probe may move now and then;
// protoactor's default dispatcher moves it on every probe.
const (
	Probes   = 5
	MaxMoved = 2
)

// CountMoved calls before, sends a *StackProbe to pid and waits for the
// answer, n times, and returns how many found the stack moved.
func CountMoved(ctx context.Context, root *actor.RootContext, pid *actor.PID, moved <-chan bool, n int, before func() error) (int, error) {
	count := 0
	for range n {
		if before != nil {
			if err := before(); err != nil {
				return count, err
			}
		}
		root.Send(pid, &StackProbe{})
		select {
		case m := <-moved:
			if m {
				count++
			}
		case <-ctx.Done():
			return count, ctx.Err()
		}
	}
	return count, nil
}
