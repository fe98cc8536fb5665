package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/internal/redistest"
	"github.com/viable-systems/vsm-connections/state"
)

// With replica_acks and no replica, every write is applied by the master
// but not acknowledged: ErrNotReplicated (also ErrUnavailable), after WAIT
// gave up at a quarter of the timeout; reads still work.
func TestReplicaAcksWithoutReplica(t *testing.T) {
	srv := redistest.Start(t)
	const timeout = 500 * time.Millisecond
	st := newStore(t, config.Redis{URL: srv.URL(), Timeout: config.Duration(timeout), ReplicaAcks: 1})
	ctx := context.Background()
	notAcked := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, redisstore.ErrNotReplicated) || !errors.Is(err, state.ErrUnavailable) {
			t.Fatalf("%s = %v, want ErrNotReplicated matching ErrUnavailable", what, err)
		}
	}
	start := time.Now()
	notAcked("Set", st.Set(ctx, "k", 1))
	if d := time.Since(start); d < timeout/4 || d > timeout {
		t.Fatalf("Set took %v, want WAIT's %v (and Redis's 100ms granularity)", d, timeout/4)
	}
	_, err := st.Incr(ctx, "k")
	notAcked("Incr", err)
	_, err = st.Expire(ctx, "k", time.Hour)
	notAcked("Expire", err)
	notAcked("Transaction", st.Transaction(ctx, []string{"k"}, func(tx state.Tx) error { tx.Incr("k"); return nil }))
	var v int
	if err := st.Get(ctx, "k", &v); err != nil || v != 3 {
		t.Fatalf("Get = %d, %v; want 3 (the master applied every write)", v, err)
	}
	_, err = st.Del(ctx, "k")
	notAcked("Del", err)
	// A command's own error comes first.
	if err := st.Set(ctx, "text", "x"); !errors.Is(err, redisstore.ErrNotReplicated) {
		t.Fatal(err)
	}
	if _, err := st.Incr(ctx, "text"); !errors.Is(err, state.ErrNotInteger) {
		t.Fatalf("Incr of text = %v, want ErrNotInteger", err)
	}
}
