package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/internal/redistest"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/statetest"
)

// batchCounter counts the calls handed to the auto-pipeliner.
type batchCounter struct{ n atomic.Int64 }

func (c *batchCounter) option() redisstore.Option {
	return redisstore.WithBatchHook(func() { c.n.Add(1) })
}

// The behaviour suite with every Get and Set going through the
// auto-pipeliner.
func TestSuiteAutoPipelined(t *testing.T) {
	addr := redistest.Addr(t)
	statetest.Run(t, func(t *testing.T) state.Store {
		st := newStore(t, config.Redis{URL: "redis://" + addr + "/0", Timeout: config.Duration(5 * time.Second)},
			redisstore.WithAlwaysBatch())
		if err := st.Ping(context.Background()); err != nil {
			t.Fatalf("Ping %s: %v", st, err)
		}
		return st
	})
}

// result is what one call returned, sent on a channel so the test waits on
// it with a bound.
type result struct {
	err error
	val string
}

func awaitResult(t *testing.T, what string, ch <-chan result, within time.Duration) result {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r
	case <-timer.C:
		t.Fatalf("%s has not returned within %v: its own deadline was not honoured", what, within)
		return result{}
	}
}

// With the server frozen, a batch is in flight and never answered; calls
// queued behind it or riding in it return at their own deadline (or
// cancellation), long before the store's timeout. Once the server answers
// again, the late replies to the abandoned commands reach nobody: every
// caller then reads its own value.
func TestAutoPipelineHonoursEachCallsDeadline(t *testing.T) {
	srv := redistest.Start(t)
	var batched batchCounter
	// The store's timeout (go-redis's read timeout for the batch) is far
	// beyond the test's bounded waits: only the callers' own contexts can
	// end their calls in time.
	st := newStore(t, config.Redis{URL: srv.URL(), Timeout: config.Duration(time.Minute)},
		redisstore.WithAlwaysBatch(), batched.option())
	ctx := context.Background()
	if err := st.Set(ctx, "ap:slow", "before"); err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			srv.Resume()
		}
	}
	defer resume() // before the store's Close (registered earlier), which flushes the batch

	call := func(ctx context.Context, f func(context.Context) (string, error)) <-chan result {
		ch := make(chan result, 1)
		go func() {
			v, err := f(ctx)
			ch <- result{err: err, val: v}
		}()
		return ch
	}
	get := func(key string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			var v string
			err := st.Get(ctx, key, &v)
			return v, err
		}
	}
	set := func(key, val string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) { return "", st.Set(ctx, key, val) }
	}

	// The slow one: no deadline of its own beyond the store's minute.
	slow := call(ctx, get("ap:slow"))

	// Behind it, each with its own end.
	getCtx, cancelGet := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancelGet()
	setCtx, cancelSet := context.WithTimeout(ctx, 250*time.Millisecond)
	defer cancelSet()
	canCtx, cancel := context.WithCancel(ctx)
	gotGet := call(getCtx, get("ap:slow"))
	gotSet := call(setCtx, set("ap:late", "abandoned"))
	gotCan := call(canCtx, get("ap:slow"))
	cancel()

	const bound = 5 * time.Second // far below the store's minute
	r := awaitResult(t, "Get with a 150ms deadline", gotGet, bound)
	if !errors.Is(r.err, context.DeadlineExceeded) || !errors.Is(r.err, state.ErrUnavailable) {
		t.Errorf("Get past its deadline = %v; want context.DeadlineExceeded and state.ErrUnavailable", r.err)
	}
	r = awaitResult(t, "Set with a 250ms deadline", gotSet, bound)
	if !errors.Is(r.err, context.DeadlineExceeded) || !errors.Is(r.err, state.ErrUnavailable) {
		t.Errorf("Set past its deadline = %v; want context.DeadlineExceeded and state.ErrUnavailable", r.err)
	}
	r = awaitResult(t, "canceled Get", gotCan, bound)
	if !errors.Is(r.err, context.Canceled) || errors.Is(r.err, state.ErrUnavailable) {
		t.Errorf("canceled Get = %v; want context.Canceled, not state.ErrUnavailable", r.err)
	}
	select {
	case r := <-slow:
		t.Fatalf("the slow Get returned %+v while the server was frozen", r)
	default:
	}
	if n := batched.n.Load(); n != 4 {
		t.Fatalf("%d calls went through the auto-pipeliner; want 4", n)
	}

	resume()
	r = awaitResult(t, "the slow Get after Resume", slow, bound)
	if r.err != nil || r.val != "before" {
		t.Fatalf("slow Get = %q, %v; want \"before\"", r.val, r.err)
	}
	// The abandoned replies were discarded: the store goes on answering
	// each caller with its own value.
	checkOwnValues(t, st, "ap:after", 64, 20)
}

// checkOwnValues runs callers goroutines, each setting and reading back its
// own keys rounds times, and fails on any value that is not the caller's.
func checkOwnValues(t *testing.T, st state.Store, prefix string, callers, rounds int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				key := fmt.Sprintf("%s:%d:%d", prefix, c, i%3)
				want := fmt.Sprintf("caller %d round %d", c, i)
				if err := st.Set(ctx, key, want); err != nil {
					errs <- fmt.Errorf("caller %d: Set %s: %w", c, key, err)
					return
				}
				var got string
				if err := st.Get(ctx, key, &got); err != nil {
					errs <- fmt.Errorf("caller %d: Get %s: %w", c, key, err)
					return
				}
				if got != want {
					errs <- fmt.Errorf("caller %d: Get %s = %q, want %q", c, key, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// 64 concurrent callers on the adaptive store (batching only because they
// are concurrent) each get their own values back, while other callers
// abandon commands in the same pipelines at deadlines of a few
// microseconds, whose late replies must go nowhere.
func TestAutoPipelineNoLostOrMisroutedReplies(t *testing.T) {
	addr := redistest.Addr(t)
	var batched batchCounter
	st := newStore(t, config.Redis{URL: "redis://" + addr + "/0", Timeout: config.Duration(10 * time.Second)}, batched.option())

	stop := make(chan struct{})
	var abandoners sync.WaitGroup
	var abandoned atomic.Int64
	for a := range 8 {
		abandoners.Add(1)
		go func() {
			defer abandoners.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+i%50)*time.Microsecond)
				var v string
				key := fmt.Sprintf("ap:abandon:%d", a)
				var err error
				if i%2 == 0 {
					err = st.Set(ctx, key, "x")
				} else {
					err = st.Get(ctx, key, &v)
				}
				cancel()
				if errors.Is(err, context.DeadlineExceeded) {
					abandoned.Add(1)
				} else if err != nil && !errors.Is(err, state.ErrNotFound) {
					t.Errorf("abandoner %d: %v", a, err)
					return
				}
			}
		}()
	}
	checkOwnValues(t, st, "ap:own", 64, 50)
	close(stop)
	abandoners.Wait()
	if batched.n.Load() == 0 {
		t.Fatal("no call went through the auto-pipeliner under 64 concurrent callers")
	}
	if abandoned.Load() == 0 {
		t.Fatal("no call was abandoned at its deadline: the test did not exercise late replies")
	}
	t.Logf("%d calls batched, %d abandoned", batched.n.Load(), abandoned.Load())
}

// A caller alone never pays the hand-off to the pipeliner.
func TestAutoPipelineSerialCallsGoDirect(t *testing.T) {
	addr := redistest.Addr(t)
	var batched batchCounter
	st := newStore(t, config.Redis{URL: "redis://" + addr + "/0"}, batched.option())
	ctx := context.Background()
	for i := range 100 {
		if err := st.Set(ctx, "ap:serial", i); err != nil {
			t.Fatal(err)
		}
		var got int
		if err := st.Get(ctx, "ap:serial", &got); err != nil || got != i {
			t.Fatalf("Get = %d, %v; want %d", got, err, i)
		}
	}
	if n := batched.n.Load(); n != 0 {
		t.Fatalf("%d serial calls went through the auto-pipeliner; want 0", n)
	}
}

// redis.disable_auto_pipeline turns batching off; it is on by default.
func TestAutoPipelineConfig(t *testing.T) {
	addr := "redis://" + redistest.Addr(t) + "/0"
	if st := newStore(t, config.Redis{URL: addr}); !redisstore.AutoPipelined(st) {
		t.Error("auto-pipelining is off by default; want on")
	}
	if st := newStore(t, config.Redis{URL: addr, DisableAutoPipeline: true}); redisstore.AutoPipelined(st) {
		t.Error("disable_auto_pipeline: true left auto-pipelining on")
	}
	if st := newStore(t, config.Redis{URL: addr, DisableAutoPipeline: true}, redisstore.WithAutoPipeline(true)); !redisstore.AutoPipelined(st) {
		t.Error("WithAutoPipeline(true) did not win over the config")
	}
	var batched batchCounter
	st := newStore(t, config.Redis{URL: addr, DisableAutoPipeline: true}, batched.option(), redisstore.WithAlwaysBatch())
	checkOwnValues(t, st, "ap:off", 16, 5)
	if n := batched.n.Load(); n != 0 {
		t.Fatalf("%d calls batched with auto-pipelining off; want 0", n)
	}
}

// A Set abandoned at its deadline may still be queued in the pipeliner.
// Until it has completed, a later call keeps to the pipeliner even alone,
// so that it cannot overtake the abandoned write on another connection:
// the newer value wins. Afterwards a lone call goes straight to the pool
// again.
func TestAutoPipelineAbandonedWriteIsNotOvertaken(t *testing.T) {
	srv := redistest.Start(t)
	hooks := make(chan struct{}, 16)
	st := newStore(t, config.Redis{URL: srv.URL(), Timeout: config.Duration(time.Minute)},
		redisstore.WithBatchHook(func() { hooks <- struct{}{} }))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.Set(ctx, "ap:order", "v0"); err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 0 {
		t.Fatalf("a lone Set was batched")
	}
	srv.Pause()
	resumed := false
	defer func() {
		if !resumed {
			srv.Resume()
		}
	}()

	redisstore.SetAlwaysBatch(st, true)
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	if err := st.Set(short, "ap:order", "v1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Set on a frozen server past its deadline = %v; want context.DeadlineExceeded", err)
	}
	<-hooks
	redisstore.SetAlwaysBatch(st, false)

	// Alone, yet batched: v1 is still pending.
	done := make(chan error, 1)
	go func() { done <- st.Set(ctx, "ap:order", "v2") }()
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	select {
	case <-hooks:
	case err := <-done:
		t.Fatalf("Set v2 returned %v on a frozen server", err)
	case <-timer.C:
		t.Fatal("a lone Set after an abandoned one went straight to the pool; want it batched behind the abandoned one")
	}

	resumed = true
	srv.Resume()
	if err := <-done; err != nil {
		t.Fatalf("Set v2: %v", err)
	}
	if err := redisstore.WaitAbandoned(ctx, st); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := st.Get(ctx, "ap:order", &got); err != nil || got != "v2" {
		t.Fatalf("Get = %q, %v; want \"v2\" (the abandoned v1 must not overwrite it)", got, err)
	}
	if len(hooks) != 0 {
		t.Fatal("a lone Get after the abandoned command completed was batched; want it direct")
	}
}

// replica_acks: a write keeps its WAIT, so it is never batched (the
// pipeliner would answer without the acknowledgement); reads still are.
func TestAutoPipelineKeepsReplicaAcks(t *testing.T) {
	srv := redistest.Start(t)
	var batched batchCounter
	st := newStore(t, config.Redis{URL: srv.URL(), Timeout: config.Duration(400 * time.Millisecond), ReplicaAcks: 1},
		redisstore.WithAlwaysBatch(), batched.option())
	ctx := context.Background()
	if err := st.Set(ctx, "ap:acks", "v"); !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatalf("Set with replica_acks and no replica = %v; want ErrNotReplicated", err)
	}
	if n := batched.n.Load(); n != 0 {
		t.Fatalf("%d writes with replica_acks were batched; want 0", n)
	}
	var v string
	if err := st.Get(ctx, "ap:acks", &v); err != nil || v != "v" {
		t.Fatalf("Get = %q, %v; want \"v\"", v, err)
	}
	if n := batched.n.Load(); n != 1 {
		t.Fatalf("%d reads batched; want 1", n)
	}
}

// Through the pipeliner, failures map as they do on a direct call: a
// refused connection fails fast with state.ErrUnavailable, and an
// authentication error does not reveal the password.
func TestAutoPipelineErrorMapping(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	_ = l.Close()
	const timeout = 2 * time.Second
	st := newStore(t, config.Redis{URL: "redis://" + refused, Timeout: config.Duration(timeout)}, redisstore.WithAlwaysBatch())
	ctx := context.Background()
	for i := range 5 {
		start := time.Now()
		var v string
		if err := st.Get(ctx, "k", &v); !errors.Is(err, state.ErrUnavailable) {
			t.Fatalf("batched Get against a refused port = %v; want ErrUnavailable", err)
		}
		if err := st.Set(ctx, "k", "v"); !errors.Is(err, state.ErrUnavailable) {
			t.Fatalf("batched Set against a refused port = %v; want ErrUnavailable", err)
		}
		if took := time.Since(start); took > timeout/2 {
			t.Fatalf("round %d took %v against a refused port", i, took)
		}
	}

	auth := newStore(t, config.Redis{URL: "redis://nosuchuser:" + secret + "@" + redistest.Addr(t), Timeout: config.Duration(timeout)},
		redisstore.WithAlwaysBatch())
	var v string
	err = auth.Get(ctx, "k", &v)
	if err == nil || errors.Is(err, state.ErrNotFound) {
		t.Fatalf("batched Get with a bad password = %v; want the AUTH failure", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error reveals the password: %v", err)
	}
}

// Close does not wait for a batch stuck on a frozen server (go-redis's
// pipeliner would flush it first, for up to the store's timeout per batch):
// it returns at once, and the stuck calls fail.
func TestAutoPipelineCloseDoesNotWaitForAHungServer(t *testing.T) {
	srv := redistest.Start(t)
	st, err := redisstore.New(config.Redis{URL: srv.URL(), Timeout: config.Duration(time.Minute)}, redisstore.WithAlwaysBatch())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Set(ctx, "ap:close", "v"); err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	defer srv.Resume()
	calls := make(chan error, 8)
	for range 8 {
		go func() {
			var v string
			calls <- st.Get(ctx, "ap:close", &v)
		}()
	}
	closed := make(chan error, 1)
	go func() { closed <- st.Close() }()
	timer := time.NewTimer(10 * time.Second) // far below the minute of the store's timeout
	defer timer.Stop()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close = %v; want nil", err)
		}
	case <-timer.C:
		t.Fatal("Close waited for a batch stuck on a frozen server")
	}
	for range 8 {
		select {
		case err := <-calls:
			if err == nil {
				t.Error("a Get on a frozen server succeeded")
			}
		case <-timer.C:
			t.Fatal("a Get stuck on a frozen server did not end with Close")
		}
	}
}
