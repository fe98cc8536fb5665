package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/internal/redistest"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/memory"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// countingStore counts the live subscriptions per channel and reports each
// one made, so a test knows when the actor has (re)subscribed and that it
// holds exactly one subscription: one delivery per publish.
type countingStore struct {
	state.Store
	made chan string // channel of every successful Subscribe

	mu   sync.Mutex
	live map[string]int
	fail error // next Subscribe fails with it, once
}

func newCountingStore(st state.Store) *countingStore {
	return &countingStore{Store: st, made: make(chan string, 64), live: make(map[string]int)}
}

func (c *countingStore) Subscribe(ctx context.Context, channel string, h state.Handler) (state.Subscription, error) {
	c.mu.Lock()
	fail := c.fail
	c.fail = nil
	c.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	sub, err := c.Store.Subscribe(ctx, channel, h)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.live[channel]++
	c.mu.Unlock()
	c.made <- channel
	return &countedSub{Subscription: sub, c: c, channel: channel}, nil
}

func (c *countingStore) failNext(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = err
}

func (c *countingStore) liveSubs(channel string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live[channel]
}

type countedSub struct {
	state.Subscription
	c       *countingStore
	channel string
	once    sync.Once
}

func (s *countedSub) Close() error {
	s.once.Do(func() {
		s.c.mu.Lock()
		s.c.live[s.channel]--
		s.c.mu.Unlock()
	})
	return s.Subscription.Close()
}

// recv returns the next value of ch within 10s.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
		var zero T
		return zero
	}
}

// resubscribeSuite: a subscription made by message to the state actor
// keeps delivering, exactly once per message, after the actor panics and
// after its supervisor restarts (which stops the actor and spawns it anew
// from the same Props).
func resubscribeSuite(t *testing.T, newStore func(t *testing.T) state.Store) {
	sys := actortest.NewSystem(t)
	root := sys.Root
	st := newCountingStore(newStore(t))
	storeMW, storeStarts := actortest.Crasher(8)
	unitMW, unitStarts := actortest.Crasher(8)
	dir := supervisor.NewDirectory()
	env := supervisor.Env{Directory: dir}
	// Restarts at once, as many as the test makes.
	cfg := supervisor.Config{MaxRestarts: 10, Window: time.Minute}
	unit := supervisor.Props("top/unit", cfg, env, supervisor.ChildSpec{
		Name:  "store",
		Props: redisstore.Props(st).Configure(actor.WithReceiverMiddleware(storeMW)),
	}).Configure(actor.WithReceiverMiddleware(unitMW))
	top := root.Spawn(supervisor.Props("top", cfg, env, supervisor.ChildSpec{
		Name: "unit", Kind: supervisor.KindSupervisor, Props: unit,
	}))
	t.Cleanup(func() { _ = root.StopFuture(top).Wait() })
	recv(t, unitStarts, "unit start")
	recv(t, storeStarts, "store start")
	pid, ok := dir.Lookup("top/unit/store")
	if !ok {
		t.Fatal("no top/unit/store")
	}
	unitPID, _ := dir.Lookup("top/unit")

	got := make(chan string, 64)
	lost := make(chan *redisstore.SubscriptionLost, 4)
	sub := root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *redisstore.Published:
			got <- m.Channel + "=" + string(m.Payload)
		case *redisstore.SubscriptionLost:
			lost <- m
		}
	}))
	t.Cleanup(func() { _ = root.StopFuture(sub).Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const ch = "resub.news"
	if err := redisstore.AskSubscribe(ctx, root, pid, ch, sub); err != nil {
		t.Fatal(err)
	}
	recv(t, st.made, "first subscription")

	// publishOnce publishes v and checks the subscriber gets it once: one
	// live subscription, and the next message after it is the fence.
	publishOnce := func(v string) {
		t.Helper()
		if n := st.liveSubs(ch); n != 1 {
			t.Fatalf("%d live subscriptions to %s, want 1", n, ch)
		}
		for _, m := range []string{v, v + "-fence"} {
			if err := redisstore.AskPublish(ctx, root, pid, ch, []byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		for _, want := range []string{ch + "=" + v, ch + "=" + v + "-fence"} {
			if m := recv(t, got, want); m != want {
				t.Fatalf("subscriber got %q, want %q", m, want)
			}
		}
	}
	publishOnce("before")

	// The actor panics: protoactor restarts it in place.
	root.Send(pid, &actortest.Crash{})
	if n := recv(t, storeStarts, "store restart"); n != 2 {
		t.Fatalf("store started %d times, want 2", n)
	}
	// The subscription lived through it: nothing to redo.
	if err := redisstore.AskPublish(ctx, root, pid, ch, []byte("sync")); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, got, "sync"); m != ch+"=sync" {
		t.Fatalf("subscriber got %q", m)
	}
	publishOnce("after-panic")

	// The supervisor panics: it stops the actor (which ends its live
	// subscriptions) and spawns it again; the new incarnation subscribes
	// again from the specs kept in the props.
	root.Send(unitPID, &actortest.Crash{})
	if n := recv(t, unitStarts, "unit restart"); n != 2 {
		t.Fatalf("unit started %d times, want 2", n)
	}
	if n := recv(t, storeStarts, "store respawn"); n != 3 {
		t.Fatalf("store started %d times, want 3", n)
	}
	if c := recv(t, st.made, "subscription after the supervisor's restart"); c != ch {
		t.Fatalf("resubscribed to %q", c)
	}
	publishOnce("after-supervisor-restart")

	// A subscribe that fails when re-established (the backend is down) is
	// retried until it holds.
	st.failNext(state.ErrUnavailable)
	root.Send(unitPID, &actortest.Crash{})
	recv(t, unitStarts, "unit restart")
	recv(t, storeStarts, "store respawn")
	if c := recv(t, st.made, "subscription retried"); c != ch {
		t.Fatalf("resubscribed to %q", c)
	}
	publishOnce("after-retry")

	// Any other failure to subscribe again is given up, and the
	// subscriber is told; it can subscribe again.
	boom := errors.New("boom")
	st.failNext(boom)
	root.Send(unitPID, &actortest.Crash{})
	recv(t, unitStarts, "unit restart")
	recv(t, storeStarts, "store respawn")
	l := recv(t, lost, "SubscriptionLost")
	if l.Channel != ch || !errors.Is(l.Err, boom) {
		t.Fatalf("SubscriptionLost = %+v, want channel %q and err boom", l, ch)
	}
	if n := st.liveSubs(ch); n != 0 {
		t.Fatalf("%d live subscriptions after the loss", n)
	}
	if err := redisstore.AskSubscribe(ctx, root, pid, ch, sub); err != nil {
		t.Fatal(err)
	}
	recv(t, st.made, "subscription made again by the subscriber")
	publishOnce("subscribed-again")

	// Unsubscribe is final: a later restart does not bring it back.
	r, err := root.RequestFuture(pid, &redisstore.Unsubscribe{Channel: ch, Subscriber: sub}, 5*time.Second).Result()
	if err != nil || r.(*redisstore.Result).Err != nil {
		t.Fatalf("Unsubscribe = %#v, %v", r, err)
	}
	if n := st.liveSubs(ch); n != 0 {
		t.Fatalf("%d live subscriptions after Unsubscribe", n)
	}
	root.Send(unitPID, &actortest.Crash{})
	recv(t, unitStarts, "unit restart")
	recv(t, storeStarts, "store respawn")
	// A request answered by the new incarnation comes after its Started.
	r, err = root.RequestFuture(pid, &redisstore.Ping{}, 5*time.Second).Result()
	if err != nil || r.(*redisstore.Result).Err != nil {
		t.Fatalf("Ping = %#v, %v", r, err)
	}
	select {
	case c := <-st.made:
		t.Fatalf("subscribed again to %q after Unsubscribe", c)
	default:
	}
	if n := st.liveSubs(ch); n != 0 {
		t.Fatalf("%d live subscriptions after Unsubscribe and restart", n)
	}
}

func TestSubscriptionSurvivesRestartMemory(t *testing.T) {
	resubscribeSuite(t, func(t *testing.T) state.Store {
		st := memory.New()
		t.Cleanup(func() { _ = st.Close() })
		return st
	})
}

func TestSubscriptionSurvivesRestartRedis(t *testing.T) {
	srv := redistest.Start(t)
	resubscribeSuite(t, func(t *testing.T) state.Store {
		return newStore(t, config.Redis{URL: srv.URL(), Timeout: config.Duration(5 * time.Second)})
	})
}

// Close does nothing: the actor closes its store when it stops, and under a
// supervisor that restarts it the same store serves the next incarnation
// (the node gives the actor such a store too); the test closes the backend.
func (c *countingStore) Close() error { return nil }
