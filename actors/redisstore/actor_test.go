package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/internal/redistest"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/memory"
)

// closeTracker records whether the actor closed its store.
type closeTracker struct {
	state.Store
	closed chan struct{}
}

func (c *closeTracker) Close() error {
	select {
	case <-c.closed:
	default:
		close(c.closed)
	}
	return c.Store.Close()
}

func testActor(t *testing.T, sys *actor.ActorSystem, st state.Store) {
	root := sys.Root
	tracker := &closeTracker{Store: st, closed: make(chan struct{})}
	pid := root.Spawn(redisstore.Props(tracker))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := redisstore.AskSet(ctx, root, pid, "actor:k", map[string]int{"a": 1}, state.Expire(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := redisstore.AskGet(ctx, root, pid, "actor:k", &got); err != nil || got["a"] != 1 {
		t.Fatalf("AskGet = %v, %v", got, err)
	}
	if err := redisstore.AskGet(ctx, root, pid, "actor:missing", &got); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("AskGet missing = %v", err)
	}
	r, err := root.RequestFuture(pid, &redisstore.Incr{Key: "actor:n", By: 5}, 5*time.Second).Result()
	if err != nil || r.(*redisstore.CountResult).N != 5 {
		t.Fatalf("Incr = %#v, %v", r, err)
	}
	r, err = root.RequestFuture(pid, &redisstore.Del{Keys: []string{"actor:n", "actor:none"}}, 5*time.Second).Result()
	if err != nil || r.(*redisstore.CountResult).N != 1 {
		t.Fatalf("Del = %#v, %v", r, err)
	}
	r, err = root.RequestFuture(pid, &redisstore.Ping{}, 5*time.Second).Result()
	if err != nil || r.(*redisstore.Result).Err != nil {
		t.Fatalf("Ping = %#v, %v", r, err)
	}

	// A subscriber actor receives *Published; it is unsubscribed when it
	// stops.
	got2 := make(chan string, 8)
	sub := root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if p, ok := c.Message().(*redisstore.Published); ok {
			got2 <- p.Channel + " " + string(p.Payload)
		}
	}))
	if err := redisstore.AskSubscribe(ctx, root, pid, "actor:ch.*", sub); err != nil {
		t.Fatal(err)
	}
	if err := redisstore.AskSubscribe(ctx, root, pid, "actor:ch.*", sub); err != nil {
		t.Fatalf("second Subscribe = %v", err)
	}
	if err := redisstore.AskPublish(ctx, root, pid, "actor:ch.1", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got2:
		if s != "actor:ch.1 hello" {
			t.Fatalf("subscriber got %q", s)
		}
	case <-ctx.Done():
		t.Fatal("subscriber got nothing")
	}
	r, err = root.RequestFuture(pid, &redisstore.Unsubscribe{Channel: "actor:ch.*", Subscriber: sub}, 5*time.Second).Result()
	if err != nil || r.(*redisstore.Result).Err != nil {
		t.Fatalf("Unsubscribe = %#v, %v", r, err)
	}
	if err := root.StopFuture(sub).Wait(); err != nil {
		t.Fatal(err)
	}

	// Stopping the actor closes the store.
	if err := root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tracker.closed:
	case <-ctx.Done():
		t.Fatal("store not closed when the actor stopped")
	}
}

func TestActorMemory(t *testing.T) {
	testActor(t, actortest.NewSystem(t), memory.New())
}

func TestActorRedis(t *testing.T) {
	st, err := redisstore.New(config.Redis{URL: "redis://" + redistest.Addr(t)})
	if err != nil {
		t.Fatal(err)
	}
	testActor(t, actortest.NewSystem(t), st)
}

// blockingStore holds every Get until released, to fill the actor.
type blockingStore struct {
	state.Store
	release chan struct{}
}

func (b *blockingStore) Get(ctx context.Context, key string, dst any) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.Store.Get(ctx, key, dst)
}

// The mailbox never waits for I/O: with every worker busy, the actor still
// answers at once (ErrBusy), and a request's Deadline ends it.
func TestActorNeverBlocksMailbox(t *testing.T) {
	sys := actortest.NewSystem(t)
	root := sys.Root
	bs := &blockingStore{Store: memory.New(), release: make(chan struct{})}
	pid := root.Spawn(redisstore.Props(bs))
	futures := make([]*actor.Future, redisstore.MaxInFlight)
	for i := range futures {
		futures[i] = root.RequestFuture(pid, &redisstore.Get{Key: "k"}, 10*time.Second)
	}
	r, err := root.RequestFuture(pid, &redisstore.Get{Key: "k"}, 5*time.Second).Result()
	if err != nil || !errors.Is(r.(*redisstore.GetResult).Err, redisstore.ErrBusy) {
		t.Fatalf("request over the limit = %#v, %v; want ErrBusy", r, err)
	}
	r, err = root.RequestFuture(pid, &redisstore.Set{Key: "k", Value: 1}, 5*time.Second).Result()
	if err != nil || !errors.Is(r.(*redisstore.Result).Err, redisstore.ErrBusy) {
		t.Fatalf("Set over the limit = %#v, %v", r, err)
	}
	close(bs.release)
	for _, f := range futures {
		r, err := f.Result()
		if err != nil || !errors.Is(r.(*redisstore.GetResult).Err, state.ErrNotFound) {
			t.Fatalf("held Get = %#v, %v", r, err)
		}
	}
	// A deadline in the past fails at once.
	r, err = root.RequestFuture(pid, &redisstore.Get{Key: "k", Deadline: time.Now().Add(-time.Second)}, 5*time.Second).Result()
	if err != nil || !errors.Is(r.(*redisstore.GetResult).Err, context.DeadlineExceeded) {
		t.Fatalf("expired Get = %#v, %v", r, err)
	}
	if err := root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestSubscribePID(t *testing.T) {
	sys := actortest.NewSystem(t)
	st := memory.New()
	defer st.Close()
	got := make(chan string, 4)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if p, ok := c.Message().(*redisstore.Published); ok {
			got <- p.Channel + "=" + string(p.Payload)
		}
	}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sub, err := redisstore.SubscribePID(ctx, st, sys.Root, "alerts:*", pid)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := st.Publish(ctx, "alerts:critical", []byte("disk")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "alerts:critical=disk" {
			t.Fatalf("got %q", s)
		}
	case <-ctx.Done():
		t.Fatal("nothing delivered")
	}
}
