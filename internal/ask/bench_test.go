package ask_test

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/internal/ask"
)

// BenchmarkAsk compares, against one echo actor: protoactor's
// RequestFuture(...).Result() and Ask, with a context that has no
// deadline (Ask's DefaultTimeout applies) and with one.
//
//	go test -run '^$' -bench BenchmarkAsk -benchmem -count 5 ./internal/ask/
func BenchmarkAsk(b *testing.B) {
	sys := actor.NewActorSystem()
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*ping); ok {
			c.Respond(&pong{})
		}
	}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	msg := &ping{}
	b.Run("future", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sys.Root.RequestFuture(pid, msg, ask.DefaultTimeout).Result(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ask", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ask.Ask[*pong](ctx, sys.Root, pid, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ask-deadline", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ask.Ask[*pong](ctx, sys.Root, pid, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
