package vsm_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/internal/redistest"
	"github.com/viable-systems/vsm-connections/state"
)

// A subscription made by message to s1/redis/store keeps delivering,
// exactly once per message, after the state actor panics and after its
// unit supervisor s1/redis panics (which stops and re-spawns the actor).
func TestStateActorSubscriptionSurvivesRestarts(t *testing.T) {
	t.Run("in-process", func(t *testing.T) {
		stateSubscriptionSurvivesRestarts(t, nil)
	})
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		cfg, err := config.Parse("node.yaml", []byte(fmt.Sprintf("node: {name: a}\nredis: {url: %q}\n", srv.URL())))
		if err != nil {
			t.Fatal(err)
		}
		stateSubscriptionSurvivesRestarts(t, cfg)
	})
}

func stateSubscriptionSurvivesRestarts(t *testing.T, cfg *vsm.Config) {
	storeMW, storeStarts := actortest.Crasher(8)
	unitMW, unitStarts := actortest.Crasher(8)
	n := startWith(t, cfg, vsm.WithStateMiddleware(storeMW, unitMW))
	if got := recv(t, unitStarts); got != 1 {
		t.Fatalf("unit started %d times", got)
	}
	if got := recv(t, storeStarts); got != 1 {
		t.Fatalf("store started %d times", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	root := n.Root()
	got := make(chan string, 64)
	sub := root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if p, ok := c.Message().(*redisstore.Published); ok {
			got <- string(p.Payload)
		}
	}))
	t.Cleanup(func() { _ = root.StopFuture(sub).Wait() })
	pid, ok := n.StatePID()
	if !ok {
		t.Fatal("no state actor")
	}
	const ch = "restart.news"
	if err := redisstore.AskSubscribe(ctx, root, pid, ch, sub); err != nil {
		t.Fatal(err)
	}
	// publish publishes v raw and returns how many subscriptions received
	// it (PUBLISH's reply, on both backends).
	publish := func(v string) int64 {
		t.Helper()
		rs, err := n.State().Pipeline(ctx, state.Command("PUBLISH", ch, v))
		if err != nil {
			t.Fatal(err)
		}
		k, err := rs[0].Int()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	// deliveredOnce publishes until the subscriber receives a message (the
	// actor subscribes again after its restart, off its mailbox; PUBLISH's
	// count alone is no proof: a subscription of the old incarnation may
	// still be closing on the server). Then a fence must reach exactly one
	// subscription, and every message up to it must arrive once, in order.
	deliveredOnce := func(what string) {
		t.Helper()
		var i int
		first := ""
		poll(t, func() bool {
			select {
			case m := <-got:
				first = m
				return true
			default:
			}
			i++
			publish(fmt.Sprintf("%s-%d", what, i))
			return false
		})
		if k := publish(what + "-fence"); k != 1 {
			t.Fatalf("%s: fence reached %d subscriptions", what, k)
		}
		var last int
		if _, err := fmt.Sscanf(first, what+"-%d", &last); err != nil {
			t.Fatalf("%s: subscriber got %q", what, first)
		}
		for m := recv(t, got); m != what+"-fence"; m = recv(t, got) {
			var j int
			if _, err := fmt.Sscanf(m, what+"-%d", &j); err != nil || j <= last {
				t.Fatalf("%s: subscriber got %q after %s-%d: a duplicate or out of order", what, m, what, last)
			}
			last = j
		}
	}
	deliveredOnce("before")

	root.Send(pid, &actortest.Crash{})
	if got := recv(t, storeStarts); got != 2 {
		t.Fatalf("store started %d times, want 2", got)
	}
	deliveredOnce("after-store-panic")

	unit, ok := n.Lookup(vsm.S1 + "/" + vsm.RedisUnit)
	if !ok {
		t.Fatal("no s1/redis")
	}
	root.Send(unit, &actortest.Crash{})
	if got := recv(t, unitStarts); got != 2 {
		t.Fatalf("unit started %d times, want 2", got)
	}
	if got := recv(t, storeStarts); got != 3 {
		t.Fatalf("store started %d times, want 3", got)
	}
	deliveredOnce("after-unit-panic")
}

// While the "redis" health breaker is open, state calls fail at once with
// ErrUnavailable (and breaker.ErrOpen), instead of each waiting the 10s
// redis.timeout against a server that does not answer; once the probe
// closes the breaker they are served again. Both a hung server (SIGSTOP:
// connections hang) and a killed one (connections refused).
func TestStateFailsFastWhileRedisHealthBreakerOpen(t *testing.T) {
	srv := redistest.Start(t)
	cfg, err := config.Parse("node.yaml", []byte(fmt.Sprintf("node: {name: a}\nredis: {url: %q, timeout: 10s}\n", srv.URL())))
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan *event.BreakerStateChanged, 256)
	n := startWith(t, cfg, vsm.WithHealthInterval(50*time.Millisecond))
	cancelSub := n.Subscribe(func(ev vsm.Event) {
		if e, ok := ev.(*event.BreakerStateChanged); ok && e.Name == "s1/breaker/redis" {
			events <- e
		}
	})
	t.Cleanup(cancelSub)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pid, ok := n.StatePID()
	if !ok {
		t.Fatal("no state actor")
	}
	root := n.Root()
	if err := n.State().Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	sess, err := n.Sessions().Create(ctx, "data")
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Get": func() error {
			var v int
			return n.State().Get(ctx, "k", &v)
		},
		"Set":     func() error { return n.State().Set(ctx, "k", 2) },
		"Publish": func() error { return n.State().Publish(ctx, "news", "x") },
		"Session": func() error { _, err := n.Sessions().Get(ctx, sess.ID); return err },
		"AskGet": func() error {
			var v int
			return redisstore.AskGet(ctx, root, pid, "k", &v)
		},
		"AskPublish": func() error { return redisstore.AskPublish(ctx, root, pid, "news", "x") },
	}
	// failFast runs every call and checks each fails with the gate's
	// refusal within 2s (a fifth of the timeout).
	failFast := func(when string) {
		t.Helper()
		for name, call := range calls {
			done := make(chan error, 1)
			go func() { done <- call() }()
			select {
			case err := <-done:
				if !errors.Is(err, state.ErrUnavailable) || !errors.Is(err, breaker.ErrOpen) {
					t.Fatalf("%s %s = %v, want ErrUnavailable and breaker.ErrOpen", name, when, err)
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("%s %s still waiting after 2s (redis.timeout is 10s)", name, when)
			}
		}
	}
	// served re-seeds what a killed Redis (no persistence) forgot, then
	// checks every call goes through.
	served := func(when string) {
		t.Helper()
		if err := n.State().Set(ctx, "k", 1); err != nil {
			t.Fatalf("Set %s = %v", when, err)
		}
		if sess, err = n.Sessions().Create(ctx, "data"); err != nil {
			t.Fatalf("session %s = %v", when, err)
		}
		for name, call := range calls {
			if err := call(); err != nil {
				t.Fatalf("%s %s = %v", name, when, err)
			}
		}
	}
	waitState := func(to string) {
		t.Helper()
		waitFor(t, events, "redis breaker "+to, func(e *event.BreakerStateChanged) bool { return e.To == to })
	}
	hb, _ := n.Breaker(vsm.HealthBreaker)

	srv.Pause()
	waitState("open")
	failFast("with Redis hung")
	srv.Resume()
	poll(t, func() bool { return hb.State() == breaker.Closed })
	served("after Redis resumed")

	srv.Kill()
	waitState("open")
	failFast("with Redis killed")
	srv.Restart()
	poll(t, func() bool { return hb.State() == breaker.Closed })
	served("after Redis restarted")
}
