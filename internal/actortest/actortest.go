// Package actortest holds what tests of actors share: a quiet actor system,
// a custom actor that asks in a loop (Asker, for benchmarks),
// a receiver middleware that crashes an actor on demand and counts its
// starts, so a test can prove what survives a restart, and a stack probe
// that tells whether an actor's mailbox runs on a stack grown in advance
// (internal/dispatch).
package actortest

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/internal/actorsys"
)

// NewSystem returns an actor system that logs nothing and keeps protoactor's
// dead-letter throttle short (it parks a goroutine for one interval, which
// goleak would otherwise see). tb, when not nil, shuts it down at cleanup.
func NewSystem(tb testing.TB) *actor.ActorSystem {
	sys := actorsys.New(
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
// on its channel.
type StackProbe struct{}

// ProbeResult is a StackProber's answer to one probe: whether StackMoved,
// and whether the probe was the first message its goroutine handled (a
// fresh mailbox run, so the stack had not been grown by an earlier
// message of the run).
type ProbeResult struct{ Moved, Fresh bool }

// StackProber returns a receiver middleware that, on a *StackProbe,
// sends a ProbeResult (measured on the mailbox's goroutine) to the
// returned channel.
func StackProber() (mw actor.ReceiverMiddleware, results <-chan ProbeResult) {
	ch := make(chan ProbeResult, 16)
	var last atomic.Uint64 // the goroutine of the previous message
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			if _, ok := env.Message.(*StackProbe); ok {
				moved := StackMoved() // first: goid's own frames could grow the stack
				g := goid()
				ch <- ProbeResult{Moved: moved, Fresh: last.Swap(g) != g}
				return
			}
			last.Store(goid())
			next(c, env)
		}
	}, ch
}

// goid is the calling goroutine's id, read from its traceback header
// ("goroutine 7 [running]:"); ids are never reused.
func goid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	s := strings.TrimPrefix(string(buf[:n]), "goroutine ")
	id, _, _ := strings.Cut(s, " ")
	v, _ := strconv.ParseUint(id, 10, 64)
	return v
}

// Probes and MaxMoved are how a test of a dispatcher reads the probes:
// Probes probes that ran on a fresh goroutine, of which MaxMoved may find
// the stack grown. A garbage collection between a run's start and its
// probe may shrink a stack that uses under a quarter of its size, so a
// probe may move now and then; on protoactor's default dispatcher every
// fresh probe moves it.
const (
	Probes   = 5
	MaxMoved = 2
)

// CountMoved sends *StackProbe messages to pid, one at a time, until n of
// them ran on a fresh goroutine, and returns how many of those found the
// stack moved. It gives up, with an error, after 20n probes or when ctx
// ends.
func CountMoved(ctx context.Context, root *actor.RootContext, pid *actor.PID, results <-chan ProbeResult, n int) (int, error) {
	moved, fresh := 0, 0
	for sent := 0; fresh < n; sent++ {
		if sent == 20*n {
			return moved, fmt.Errorf("only %d of %d probes ran on a fresh goroutine", fresh, sent)
		}
		root.Send(pid, &StackProbe{})
		select {
		case r := <-results:
			if r.Fresh {
				fresh++
				if r.Moved {
					moved++
				}
			}
		case <-ctx.Done():
			return moved, ctx.Err()
		}
	}
	return moved, nil
}

// Recv returns the next value on ch, failing the test if none comes within
// 10 seconds.
func Recv[T any](tb testing.TB, ch <-chan T) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		tb.Fatalf("nothing received on %T within 10s", ch)
		panic("unreachable")
	}
}
