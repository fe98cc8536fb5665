package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/internal/redistest"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/statetest"
)

func clusterStore(t testing.TB, c *redistest.Cluster, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	st := newStore(t, config.Redis{Addrs: c.Addrs(), Timeout: config.Duration(5 * time.Second)}, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping %s: %v", st, err)
	}
	return st
}

// On one real 3+3 Redis Cluster, through the store opened with addrs: the
// whole behaviour suite, multi-key commands, then sharded pub/sub (last: it
// moves slots).
func TestCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	t.Run("Suite", func(t *testing.T) {
		statetest.Run(t, func(t *testing.T) state.Store { return clusterStore(t, c) })
	})
	t.Run("SuiteAutoPipelined", func(t *testing.T) {
		statetest.Run(t, func(t *testing.T) state.Store { return clusterStore(t, c, redisstore.WithAlwaysBatch()) })
	})
	t.Run("AutoPipelineOwnValues", func(t *testing.T) {
		// Batches go to the node serving each key: 64 callers over keys of
		// every master each read back their own values.
		var batched batchCounter
		checkOwnValues(t, clusterStore(t, c, batched.option()), "ap:cluster", 64, 30)
		if batched.n.Load() == 0 {
			t.Fatal("no call went through the auto-pipeliner")
		}
	})
	t.Run("AutoPipelineAfterMove", func(t *testing.T) { testClusterAutoPipelineMove(t, c) })
	t.Run("MultiKey", func(t *testing.T) { testClusterMultiKey(t, c) })
	t.Run("ShardedPubSub", func(t *testing.T) { testClusterShardedPubSub(t, c) })
}

// Keys of different slots: Del and Exists count them all; a transaction
// across slots fails with ErrCrossSlot before writing; one that watches
// nothing applies its writes to one slot.
func testClusterMultiKey(t *testing.T, c *redistest.Cluster) {
	st := clusterStore(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	keys := []string{"mk:a", "mk:b", "mk:c", "mk:d", "mk:e", "mk:f"}
	slots := make(map[int]bool)
	for _, k := range keys {
		slots[c.Slot(k)] = true
		if err := st.Set(ctx, k, 1); err != nil {
			t.Fatal(err)
		}
	}
	if len(slots) < 2 {
		t.Fatalf("test keys all in one slot: %v", slots)
	}
	if n, err := st.Exists(ctx, append(keys, "mk:missing", "mk:a")...); err != nil || n != 7 {
		t.Fatalf("Exists across slots = %d, %v; want 7", n, err)
	}
	if n, err := st.Del(ctx, "mk:a", "mk:b", "mk:c", "mk:d", "mk:missing"); err != nil || n != 4 {
		t.Fatalf("Del across slots = %d, %v; want 4", n, err)
	}
	if n, err := st.Exists(ctx, keys...); err != nil || n != 2 {
		t.Fatalf("Exists after Del = %d, %v; want 2", n, err)
	}

	// Watching keys of two slots.
	calls := 0
	err := st.Transaction(ctx, []string{"mk:e", "mk:f"}, func(tx state.Tx) error { calls++; return nil })
	if c.Slot("mk:e") != c.Slot("mk:f") && (!errors.Is(err, state.ErrCrossSlot) || calls != 0) {
		t.Fatalf("Transaction watching two slots = %v after %d calls; want ErrCrossSlot before fn", err, calls)
	}
	// Writing outside the watched slot: nothing applies.
	a, b := "{mk}:a", "{other}:b"
	err = st.Transaction(ctx, []string{a}, func(tx state.Tx) error {
		tx.Incr(a)
		tx.Incr(b)
		return nil
	})
	if !errors.Is(err, state.ErrCrossSlot) {
		t.Fatalf("Transaction writing outside its slot = %v, want ErrCrossSlot", err)
	}
	if n, err := st.Exists(ctx, a, b); err != nil || n != 0 {
		t.Fatalf("after the refused transaction Exists = %d, %v; want 0", n, err)
	}
	// Watching nothing, writing one slot.
	err = st.Transaction(ctx, nil, func(tx state.Tx) error {
		var v int
		if err := tx.Get(ctx, "mk:e", &v); err != nil || v != 1 {
			t.Errorf("Get in tx = %d, %v", v, err)
		}
		tx.IncrBy("{mk}:x", 2)
		return tx.Set("{mk}:y", "y")
	})
	if err != nil {
		t.Fatalf("unwatched Transaction = %v", err)
	}
	var x int64
	var y string
	if err := st.Get(ctx, "{mk}:x", &x); err != nil || x != 2 {
		t.Fatalf("x = %d, %v", x, err)
	}
	if err := st.Get(ctx, "{mk}:y", &y); err != nil || y != "y" {
		t.Fatalf("y = %q, %v", y, err)
	}
	err = st.Transaction(ctx, nil, func(tx state.Tx) error { tx.Incr("{mk}:x"); tx.Incr("{other}:x"); return nil })
	if !errors.Is(err, state.ErrCrossSlot) {
		t.Fatalf("unwatched Transaction across slots = %v, want ErrCrossSlot", err)
	}
	if err := st.Get(ctx, "{mk}:x", &x); err != nil || x != 2 {
		t.Fatalf("x after refused transaction = %d, %v; want 2", x, err)
	}
	// A raw pipelined multi-key command across slots is the server's
	// CROSSSLOT, matched.
	res, err := st.Pipeline(ctx, state.Command("MGET", "mk:e", "mk:zz"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Slot("mk:e") != c.Slot("mk:zz") && !errors.Is(res[0].Err, state.ErrCrossSlot) {
		t.Fatalf("MGET across slots = %v, want ErrCrossSlot", res[0].Err)
	}
}

// An exact subscription is sharded (SSUBSCRIBE, on the shard of its
// channel); a pattern one is PSUBSCRIBE; a plain SUBSCRIBE (an older
// client) still gets what Publish sends; each subscriber gets one copy.
func testClusterShardedPubSub(t *testing.T, c *redistest.Cluster) {
	st := clusterStore(t, c, redisstore.WithLogger(zaptest.NewLogger(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A channel whose slot holds no key (the test moves that slot).
	ch := ""
	for i := 0; ch == ""; i++ {
		cand := fmt.Sprintf("vsm:{t%d}:news", i)
		if n, err := redistest.Do(c.MasterOf(cand), "CLUSTER", "COUNTKEYSINSLOT", fmt.Sprint(c.Slot(cand))); err == nil && n == "0" {
			ch = cand
		}
	}
	pat := strings.Replace(ch, "news", "*", 1)
	exact := make(chan state.Message, 16)
	sub, err := st.Subscribe(ctx, ch, func(m state.Message) { exact <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	pattern := make(chan state.Message, 16)
	psub, err := st.Subscribe(ctx, pat, func(m state.Message) { pattern <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer psub.Close()

	owner := c.MasterOf(ch)
	if n, err := redistest.Do(owner, "PUBSUB", "SHARDNUMSUB", ch); err != nil || n != ch+"\n1" {
		t.Fatalf("PUBSUB SHARDNUMSUB on the owner %s = %q, %v; want one sharded subscriber", owner, n, err)
	}
	var plain, pats int
	ownerPat := int64(0) // PUBLISH counts the receivers of its node only
	for _, a := range c.Addrs() {
		n, err := redistest.Do(a, "PUBSUB", "NUMSUB", ch)
		if err != nil {
			t.Fatal(err)
		}
		if n != ch+"\n0" {
			plain++
		}
		p, err := redistest.Do(a, "PUBSUB", "NUMPAT")
		if err != nil {
			t.Fatal(err)
		}
		if p != "0" {
			pats++
			if a == owner {
				ownerPat = 1
			}
		}
	}
	if plain != 0 || pats != 1 {
		t.Fatalf("%d nodes with a plain subscriber (want 0), %d with a pattern one (want 1)", plain, pats)
	}

	// A plain SUBSCRIBE through go-redis on another node, as a store of an
	// older version would make.
	legacy := goredis.NewClient(&goredis.Options{Addr: otherThan(c.Addrs(), owner)})
	defer legacy.Close()
	lps := legacy.Subscribe(ctx, ch)
	defer lps.Close()
	if _, err := lps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := st.Publish(ctx, ch, i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		for name, got := range map[string]<-chan state.Message{"exact": exact, "pattern": pattern} {
			var v int
			select {
			case m := <-got:
				if err := m.Decode(&v); err != nil || v != i {
					t.Fatalf("%s subscriber: message %d = %s, %v", name, i, m.Payload, err)
				}
			case <-ctx.Done():
				t.Fatalf("%s subscriber: message %d not delivered", name, i)
			}
		}
		m, err := lps.ReceiveMessage(ctx)
		if err != nil || m.Payload != fmt.Sprint(i) {
			t.Fatalf("plain subscriber: message %d = %v, %v", i, m, err)
		}
	}
	// One copy each: a fence message is the next thing everyone sees.
	if err := st.Publish(ctx, ch, "fence"); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]<-chan state.Message{"exact": exact, "pattern": pattern} {
		select {
		case m := <-got:
			if string(m.Payload) != `"fence"` {
				t.Fatalf("%s subscriber got %s, want the fence (a duplicate?)", name, m.Payload)
			}
		case <-ctx.Done():
			t.Fatalf("%s subscriber: fence not delivered", name)
		}
	}
	// A pipelined PUBLISH is delivered the same way.
	res, err := st.Pipeline(ctx, state.Command("PUBLISH", ch, "piped"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res[0].Int(); err != nil || n != 1+ownerPat {
		t.Fatalf("pipelined PUBLISH = %d, %v; want %d (the sharded subscriber, and the pattern one if on the owner)", n, err, 1+ownerPat)
	}
	for name, got := range map[string]<-chan state.Message{"exact": exact, "pattern": pattern} {
		select {
		case m := <-got:
			if string(m.Payload) != "piped" {
				t.Fatalf("%s subscriber got %s, want piped", name, m.Payload)
			}
		case <-ctx.Done():
			t.Fatalf("%s subscriber: pipelined publish not delivered", name)
		}
	}

	// A manual failover moves the slot: Redis 7 drops the sharded
	// subscription on the old master, and it follows the slot.
	replica := c.ReplicaOf(owner)
	c.Promote(ctx, replica)
	for _, want := range []string{"after failover", "after resharding"} {
		if want == "after resharding" {
			// The slot moves to another shard: Redis drops the sharded
			// subscription there (SUNSUBSCRIBE), and the store subscribes
			// again on the new owner.
			to := otherThan(masters(t, c), c.MasterOf(ch))
			c.MoveSlot(ctx, ch, to)
			waitShardSubscribed(t, ctx, to, ch)
		}
		if err := st.Publish(ctx, ch, want); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-exact:
			if string(m.Payload) != `"`+want+`"` {
				t.Fatalf("%s the exact subscriber got %s", want, m.Payload)
			}
		case <-ctx.Done():
			t.Fatalf("%s the sharded subscription receives nothing", want)
		}
		select {
		case m := <-pattern:
			if string(m.Payload) != `"`+want+`"` {
				t.Fatalf("%s the pattern subscriber got %s", want, m.Payload)
			}
		case <-ctx.Done():
			t.Fatalf("%s the pattern subscription receives nothing", want)
		}
	}
}

func masters(t *testing.T, c *redistest.Cluster) []string {
	t.Helper()
	var out []string
	for _, key := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		m := c.MasterOf(key)
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func otherThan(addrs []string, not string) string {
	for _, a := range addrs {
		if a != not {
			return a
		}
	}
	return ""
}

// waitShardSubscribed waits until the node at addr has a sharded
// subscriber of ch.
func waitShardSubscribed(t *testing.T, ctx context.Context, addr, ch string) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if n, err := redistest.Do(addr, "PUBSUB", "SHARDNUMSUB", ch); err == nil && n == ch+"\n1" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no sharded subscriber of %s on %s", ch, addr)
		case <-tick.C:
		}
	}
}

// A master killed mid-run (SIGKILL) while writers keep writing to its
// slot, with replica_acks 1: writes fail while its replica takes over, and
// are acknowledged again once the shard has a replica again (the killed
// node, restarted, rejoins as one); every write that was acknowledged
// reads back; a sharded subscription on that shard receives again.
func TestClusterMasterKilledMidRun(t *testing.T) {
	c := redistest.StartCluster(t)
	st := clusterStore(t, c, redisstore.WithReplicaAcks(1), redisstore.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))))
	const tag = "{failover}"
	victim := c.MasterOf(tag)
	// A failover takes about 3 node timeouts, the rejoin and resync about
	// a second (3.5s in all here); go-redis alone would keep dialling the
	// dead master until its slot map expires (10s as the store sets it, a
	// minute by default): without the store's reload on unavailability
	// this took 10s.
	killMidRun(t, st, tag, func() {
		c.Kill(victim)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c.WaitHealthy(ctx)
		c.Restart(victim)
	}, 8*redistest.ClusterNodeTimeout)
	if now := c.MasterOf(tag); now == victim {
		t.Fatalf("the killed %s still serves the slot", victim)
	}
}

// killMidRun runs 4 writers through st, calls kill once 200 writes are
// acknowledged, and checks that every writer has a write acknowledged
// within limit of the kill, that every acknowledged write reads back, and
// that a subscription made before the kill receives again.
func killMidRun(t *testing.T, st *redisstore.Store, tag string, kill func(), limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	got := make(chan state.Message, 1024)
	sub, err := st.Subscribe(ctx, tag+":ch", func(m state.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	const writers = 4
	var (
		mu    sync.Mutex
		acked = make(map[string]int) // key -> value acknowledged
		fails int
	)
	killed := make(chan struct{})
	resumed := make(chan int, writers) // a writer's first ack after the kill
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			after := false
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("%s:w%d:%d", tag, w, i)
				wctx, wcancel := context.WithTimeout(ctx, time.Second)
				err := st.Set(wctx, k, i)
				wcancel()
				if err != nil {
					// ErrNotReplicated matches ErrUnavailable too.
					if !errors.Is(err, state.ErrUnavailable) {
						t.Errorf("writer %d: %v (want ErrUnavailable)", w, err)
						return
					}
					mu.Lock()
					fails++
					mu.Unlock()
					// Pace the retries while the master fails over.
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
					continue
				}
				mu.Lock()
				acked[k] = i
				mu.Unlock()
				select {
				case <-killed:
					if !after {
						after = true
						resumed <- w
					}
				default:
				}
			}
		}()
	}
	stopWriters := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}
	defer stopWriters()

	tick := time.NewTicker(5 * time.Millisecond)
	for {
		mu.Lock()
		have := len(acked)
		mu.Unlock()
		if have >= 200 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("only %d writes acknowledged before the kill", have)
		case <-tick.C:
		}
	}
	tick.Stop()
	start := time.Now()
	kill()
	close(killed)
	for range writers {
		select {
		case <-resumed:
		case <-ctx.Done():
			t.Fatal("writes did not resume after the failover")
		}
	}
	resumedAfter := time.Since(start)
	stopWriters()
	if resumedAfter > limit {
		t.Fatalf("writes resumed %v after the kill, want within %v", resumedAfter, limit)
	}

	mu.Lock()
	defer mu.Unlock()
	lost := 0
	for k, want := range acked {
		var v int
		err := st.Get(ctx, k, &v)
		// Reads may still fail while the client settles on the new master
		// (go-redis's Sentinel client can try the old address once more):
		// that is unavailability, not loss; retry it, bounded by ctx.
		for errors.Is(err, state.ErrUnavailable) && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
			err = st.Get(ctx, k, &v)
		}
		if err != nil || v != want {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged %s = %d reads %d, %v", k, want, v, err)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", lost, len(acked))
	}
	t.Logf("%d writes acknowledged and read back; %d failed during the failover; every writer resumed %v after the kill",
		len(acked), fails, resumedAfter.Round(time.Millisecond))

	// The subscription follows the master.
	retry := time.NewTicker(50 * time.Millisecond)
	defer retry.Stop()
	for {
		if err := st.Publish(ctx, tag+":ch", "after"); err != nil && !errors.Is(err, state.ErrUnavailable) {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if string(m.Payload) != `"after"` {
				t.Fatalf("subscriber got %s", m.Payload)
			}
			return
		case <-ctx.Done():
			t.Fatal("the subscription receives nothing after the failover")
		case <-retry.C:
		}
	}
}

// A batched call whose slot moved since the client loaded the slot map
// follows the MOVED redirect, as a direct call does.
func testClusterAutoPipelineMove(t *testing.T, c *redistest.Cluster) {
	st := clusterStore(t, c, redisstore.WithAlwaysBatch())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const key = "apmove:{m1}"
	var v string
	if err := st.Get(ctx, key, &v); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("Get before the move = %v; want ErrNotFound", err)
	}
	c.MoveSlot(ctx, key, otherThan(masters(t, c), c.MasterOf(key)))
	if err := st.Set(ctx, key, "moved"); err != nil {
		t.Fatalf("batched Set after the move: %v", err)
	}
	if err := st.Get(ctx, key, &v); err != nil || v != "moved" {
		t.Fatalf("batched Get after the move = %q, %v; want \"moved\"", v, err)
	}
}
