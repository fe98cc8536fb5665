package breakeractor

import (
	"context"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// The message path for comparison with the handle (breaker/bench_test.go):
//
//	actor:  a custom actor asks the breaker actor for its stats with
//	        ctx.Request and waits for the *StatsResult (actor to actor);
//	helper: plain Go code calls Stats (RequestFuture under the hood);
//	execute: plain Go code runs a trivial fn through the actor (Execute);
//	handle-call: the same fn through the handle (Breaker.Call);
//	handle: plain Go code reads the handle (b.Stats(), b.State()).
//
//	go test -run '^$' -bench BenchmarkBreakerActor -count=10 ./actors/breakeractor/

func BenchmarkBreakerActor(b *testing.B) {
	sys := actortest.NewSystem(nil)
	defer sys.Shutdown()
	br := cb.New("bench", cb.Settings{})
	pid := sys.Root.Spawn(Props(br, Env{}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()

	b.Run("actor", func(b *testing.B) {
		user := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &actortest.Asker{Target: pid, Msg: &GetStats{}} }))
		defer func() { _ = sys.Root.StopFuture(user).Wait() }()
		b.ReportAllocs()
		b.ResetTimer()
		done := make(chan struct{})
		sys.Root.Send(user, &actortest.AskN{N: b.N, Done: done})
		<-done
	})
	b.Run("helper", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Stats(ctx, sys.Root, pid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("execute", func(b *testing.B) {
		ctx := context.Background()
		fn := func(context.Context) error { return nil }
		b.ReportAllocs()
		for b.Loop() {
			if err := Execute(ctx, sys.Root, pid, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("handle-call", func(b *testing.B) {
		ctx := context.Background()
		fn := func(context.Context) error { return nil }
		b.ReportAllocs()
		for b.Loop() {
			if err := br.Call(ctx, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("handle-stats", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = br.Stats()
		}
	})
	b.Run("handle-state", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = br.State()
		}
	})
}
