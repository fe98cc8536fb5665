package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/internal/redistest"

	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/state"
)

// Kill the server mid-run: calls fail fast with ErrUnavailable; restart it:
// calls succeed again and every subscription, exact and pattern, receives
// messages again without subscribing again.
func TestServerRestart(t *testing.T) {
	srv := redistest.Start(t)
	const timeout = time.Second
	st := newStore(t, config.Redis{URL: "redis://" + srv.Addr(), Timeout: config.Duration(timeout)})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	exact := make(chan string, 256)
	pattern := make(chan string, 256)
	var panicked atomic.Bool
	sub1, err := st.Subscribe(ctx, "restart.exact", func(m state.Message) { exact <- string(m.Payload) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub1.Close()
	sub2, err := st.Subscribe(ctx, "restart.*", func(m state.Message) {
		if !panicked.Swap(true) {
			panic("first message") // the recovered panic must not matter either
		}
		pattern <- m.Channel + "=" + string(m.Payload)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	if err := st.Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	if err := st.Publish(ctx, "restart.exact", []byte("before")); err != nil {
		t.Fatal(err)
	}
	if got := recvString(t, ctx, exact); got != "before" {
		t.Fatalf("exact got %q", got)
	}

	srv.Kill()
	// Every call fails with ErrUnavailable, well within the timeout.
	for i := 0; i < 10; i++ {
		start := time.Now()
		var v int
		err := st.Get(ctx, "k", &v)
		if !errors.Is(err, state.ErrUnavailable) {
			t.Fatalf("Get with the server down = %v, want ErrUnavailable", err)
		}
		if took := time.Since(start); took > timeout {
			t.Fatalf("Get with the server down took %v (timeout %v)", took, timeout)
		}
	}
	if err := st.Publish(ctx, "restart.exact", []byte("lost")); !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("Publish with the server down = %v", err)
	}

	srv.Restart()
	// Commands recover (the pool redials; the first may still meet the
	// refusal cached by go-redis for up to a second).
	poll(t, ctx, func() bool { return st.Set(ctx, "k", 2) == nil })

	// Subscriptions recover by themselves: publish probes until each
	// handler sees one. Messages published before the resubscription are
	// lost, as with any Redis pub/sub, hence the probes.
	i := 0
	poll(t, ctx, func() bool {
		i++
		_ = st.Publish(ctx, "restart.exact", []byte(fmt.Sprint("after", i)))
		select {
		case <-exact:
			return true
		default:
			return false
		}
	})
	poll(t, ctx, func() bool {
		i++
		_ = st.Publish(ctx, "restart.other", []byte(fmt.Sprint("after", i)))
		select {
		case <-pattern:
			return true
		default:
			return false
		}
	})
	// From now on every message arrives, in order: skip the probes still
	// in flight up to a fence.
	if err := st.Publish(ctx, "restart.exact", []byte("fence")); err != nil {
		t.Fatal(err)
	}
	for recvString(t, ctx, exact) != "fence" {
	}
	for j := 0; j < 20; j++ {
		if err := st.Publish(ctx, "restart.exact", []byte(fmt.Sprint(j))); err != nil {
			t.Fatal(err)
		}
	}
	for j := 0; j < 20; j++ {
		if got := recvString(t, ctx, exact); got != fmt.Sprint(j) {
			t.Fatalf("after restart got %q, want %d", got, j)
		}
	}
	for _, sub := range []state.Subscription{sub1, sub2} {
		if r := sub.(interface{ Reconnects() uint64 }).Reconnects(); r < 1 {
			t.Errorf("Reconnects = %d, want at least 1", r)
		}
	}
	if sub2.Panics() != 1 {
		t.Errorf("Panics = %d, want 1", sub2.Panics())
	}
}

func recvString(t *testing.T, ctx context.Context, ch <-chan string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	select {
	case s := <-ch:
		return s
	case <-ctx.Done():
		t.Fatal("nothing received within 5s")
		return ""
	}
}

// poll calls cond every 20ms until it is true, failing after 15s.
func poll(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met within 15s")
		case <-tick.C:
		}
	}
}
