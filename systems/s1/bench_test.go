package s1

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/breakeractor"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// The actor message path of S1's units against bare protoactor, side by
// side in one run:
//
//	BenchmarkActorRequest: a custom actor asks with ctx.Request and asks
//	again on each reply, one request in flight (actor), or plain Go code
//	asks and waits (ask: RequestFuture(...).Result() for bare, the typed
//	helpers breakeractor.Stats and httppool.PoolStats for S1's units);
//	BenchmarkActorSend: one-way Send from 1 goroutine to 1 actor and from
//	8 goroutines each to its own actor, in msgs/s.
//
// bare is an actor spawned with default props under the root, answering
// the same request type with ctx.Respond and a reply of the same type;
// breaker and pool (vsm) are the actors S1 supervises, spawned through
// AddBreaker and AddPool under an S1 supervisor, as the node does.
//
//	taskset -c 0 go test -run '^$' -bench 'BenchmarkActor(Request|Send)' -benchmem -count 5 ./systems/s1/

// startCPU reads the process's CPU time; the func it returns reports the
// CPU time used since, per operation, as cpu-ns/op (where the platform
// tells it). The process holds nothing else busy meanwhile, so it is the
// benchmark's: on a machine others load, it moves less than ns/op.
func startCPU() func(*testing.B) {
	t0, ok := cpuTime()
	return func(b *testing.B) {
		t1, ok1 := cpuTime()
		if ok && ok1 && b.N > 0 {
			b.ReportMetric(float64(t1-t0)/float64(b.N), "cpu-ns/op")
		}
	}
}

// benchS1 is an S1 supervisor under a root, as the node starts it, with
// no unit yet; it stops at cleanup.
func benchS1(b testing.TB) (*actor.ActorSystem, *S1) {
	sys := actortest.NewSystem(nil)
	env := supervisor.Env{Directory: supervisor.NewDirectory(), Events: sys.EventStream}
	spec := Spec(supervisor.Config{}, env)
	pid := sys.Root.Spawn(spec.Props)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := supervisor.List(ctx, sys.Root, pid); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = sys.Root.PoisonFuture(pid).Wait()
		sys.Shutdown()
	})
	return sys, New(Env{Root: sys.Root, Supervisor: env, Events: sys.EventStream})
}

func benchBreaker(b *testing.B, s *S1, name string) *actor.PID {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pid, err := s.AddBreaker(ctx, breaker.New(name, breaker.Settings{}))
	if err != nil {
		b.Fatal(err)
	}
	return pid
}

func benchPool(b *testing.B, s *S1, name string) *actor.PID {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// No request is made: the endpoint is never dialled.
	p, err := s.AddPool(ctx, httppool.Config{Name: name, Endpoints: []string{"127.0.0.1:9"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Client().Close() })
	pid, ok := p.PID()
	if !ok {
		b.Fatal("pool actor not running")
	}
	return pid
}

// bareActor is the peer: default props, answering the breaker's and the
// pool's stats requests with a reply of the same type, ignoring the rest.
type bareActor struct{}

func (bareActor) Receive(c actor.Context) {
	switch c.Message().(type) {
	case *breakeractor.GetStats:
		c.Respond(&breakeractor.StatsResult{})
	case *httppool.GetStats:
		c.Respond(&httppool.StatsResult{})
	}
}

func spawnBare(sys *actor.ActorSystem) *actor.PID {
	return sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return bareActor{} }))
}

func BenchmarkActorRequest(b *testing.B) {
	sys, s := benchS1(b)
	bare := spawnBare(sys)
	brk := benchBreaker(b, s, "bench")
	pool := benchPool(b, s, "bench")
	targets := []struct {
		name   string
		pid    *actor.PID
		msg    any
		helper func(context.Context) error
	}{
		{"bare", bare, &breakeractor.GetStats{}, func(context.Context) error {
			_, err := sys.Root.RequestFuture(bare, &breakeractor.GetStats{}, 10*time.Second).Result()
			return err
		}},
		{"breaker", brk, &breakeractor.GetStats{}, func(ctx context.Context) error {
			_, err := breakeractor.Stats(ctx, sys.Root, brk)
			return err
		}},
		{"pool", pool, &httppool.GetStats{}, func(ctx context.Context) error {
			_, err := httppool.PoolStats(ctx, sys.Root, pool)
			return err
		}},
	}
	for _, tg := range targets {
		b.Run(tg.name+"/actor", func(b *testing.B) {
			user := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &actortest.Asker{Target: tg.pid, Msg: tg.msg} }))
			defer func() { _ = sys.Root.StopFuture(user).Wait() }()
			b.ReportAllocs()
			done := make(chan struct{})
			b.ResetTimer()
			start, cpu := time.Now(), startCPU()
			sys.Root.Send(user, &actortest.AskN{N: b.N, Done: done})
			<-done
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			cpu(b)
		})
		b.Run(tg.name+"/ask", func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				if err := tg.helper(ctx); err != nil {
					b.Fatal(err)
				}
			}
			cpu(b)
		})
	}
}

// sendMsg is what BenchmarkActorSend sends: a type no actor handles, so
// the figure is the cost of the path (mailbox, dispatch, middleware,
// Receive), not of a handler. One value is sent again and again, so
// neither side allocates for it.
type sendMsg struct{ _ int }

func BenchmarkActorSend(b *testing.B) {
	sys, s := benchS1(b)
	const fan = 8
	bares := make([]*actor.PID, fan)
	units := make([]*actor.PID, fan)
	for i := range fan {
		bares[i] = spawnBare(sys)
		units[i] = benchPool(b, s, fmt.Sprintf("send%d", i))
	}
	for _, kind := range []struct {
		name string
		pids []*actor.PID
		ask  any
	}{
		{"bare", bares, &httppool.GetStats{}},
		{"vsm", units, &httppool.GetStats{}},
	} {
		for _, n := range []int{1, fan} {
			b.Run(fmt.Sprintf("%s/%dto%d", kind.name, n, n), func(b *testing.B) {
				msg := &sendMsg{}
				// run sends b.N messages from n goroutines, each to its
				// own actor, and returns once all have been handled.
				run := func() error {
					var wg sync.WaitGroup
					errs := make(chan error, n)
					for w := range n {
						count := b.N / n
						if w < b.N%n {
							count++
						}
						wg.Add(1)
						go func(pid *actor.PID, count int) {
							defer wg.Done()
							for range count {
								sys.Root.Send(pid, msg)
							}
							// The mailbox is FIFO: the reply comes once
							// every message before it has been handled.
							if _, err := sys.Root.RequestFuture(pid, kind.ask, 30*time.Second).Result(); err != nil {
								errs <- err
							}
						}(kind.pids[w], count)
					}
					wg.Wait()
					select {
					case err := <-errs:
						return err
					default:
						return nil
					}
				}
				// Once untimed: a mailbox's queue grows to the largest
				// backlog it has held and never shrinks, so the timed run
				// measures the steady state, not the queue's growth.
				if err := run(); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				start, cpu := time.Now(), startCPU()
				err := run()
				elapsed := time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				cpu(b)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			})
		}
	}
}
