package statetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/state"
)

// Option configures Run.
type Option interface{ apply(*config) }

type config struct {
	clock *Clock
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithClock tells the suite that the stores newStore returns read their time
// from c, so it can test expiry by moving c instead of waiting.
func WithClock(c *Clock) Option { return optionFunc(func(cfg *config) { cfg.clock = c }) }

// Run runs the behaviour suite, one subtest per behaviour, each on a new
// store from newStore (closed when the subtest ends).
func Run(t *testing.T, newStore func(t *testing.T) state.Store, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o.apply(&cfg)
	}
	tests := []struct {
		name string
		fn   func(*testing.T, *harness)
	}{
		{"SetGetJSON", testSetGetJSON},
		{"Missing", testMissing},
		{"DecodeErrorLeavesDst", testDecodeError},
		{"Expiry", testExpiry},
		{"DelExistsIncr", testDelExistsIncr},
		{"PubSubOrder", testPubSubOrder},
		{"PatternSubscription", testPattern},
		{"PanickingHandler", testPanickingHandler},
		{"Close", testClose},
		{"TransactionConcurrentIncrements", testTxConcurrent},
		{"TransactionAbortAndConflict", testTxAbortConflict},
		{"TransactionQueuedWrites", testTxQueued},
		{"Pipeline", testPipeline},
		{"Sessions", testSessions},
		{"SessionExpiry", testSessionExpiry},
		{"Guard", testGuard},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			t.Cleanup(func() {
				if err := st.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			var b [6]byte
			_, _ = rand.Read(b[:])
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			t.Cleanup(cancel)
			tc.fn(t, &harness{st: st, prefix: "statetest:{" + hex.EncodeToString(b[:]) + "}:", clock: cfg.clock, ctx: ctx})
		})
	}
}

type harness struct {
	st     state.Store
	prefix string
	clock  *Clock
	ctx    context.Context
}

func (h *harness) key(name string) string { return h.prefix + name }

// waitGone polls until key no longer exists, failing after a bound, and
// returns when it vanished.
func (h *harness) waitGone(t *testing.T, key string) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := h.st.Exists(ctx, key)
		if err != nil {
			t.Fatalf("Exists(%s): %v", key, err)
		}
		if n == 0 {
			return time.Now()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s still exists after 5s", key)
		case <-tick.C:
		}
	}
}

func mustExist(t *testing.T, h *harness, key string, want int64) {
	t.Helper()
	n, err := h.st.Exists(h.ctx, key)
	if err != nil || n != want {
		t.Fatalf("Exists(%s) = %d, %v; want %d", key, n, err, want)
	}
}

// recv waits for one value, failing after a bound.
func recv[T any](t *testing.T, ctx context.Context, ch <-chan T) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("nothing received within 5s")
	}
	var zero T
	return zero
}

type doc struct {
	Name string   `json:"name"`
	N    int      `json:"n"`
	Tags []string `json:"tags,omitempty"`
}

func testSetGetJSON(t *testing.T, h *harness) {
	k := h.key("doc")
	in := doc{Name: "ann", N: 3, Tags: []string{"x", "y"}}
	if err := h.st.Set(h.ctx, k, in); err != nil {
		t.Fatal(err)
	}
	var out doc
	if err := h.st.Get(h.ctx, k, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("Get = %+v, want %+v", out, in)
	}
	// Fields absent from the stored JSON are zero after Get, not kept.
	stale := doc{Name: "old", N: 9, Tags: []string{"z"}}
	if err := h.st.Set(h.ctx, k, doc{Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := h.st.Get(h.ctx, k, &stale); err != nil || !reflect.DeepEqual(stale, doc{Name: "bob"}) {
		t.Fatalf("Get after overwrite = %+v, %v", stale, err)
	}

	raw := []byte("raw\x00bytes\xff")
	if err := h.st.Set(h.ctx, k, raw); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := h.st.Get(h.ctx, k, &got); err != nil || string(got) != string(raw) {
		t.Fatalf("Get raw = %q, %v; want %q", got, err, raw)
	}
	if err := h.st.Set(h.ctx, k, "text"); err != nil {
		t.Fatal(err)
	}
	if err := h.st.Get(h.ctx, k, &got); err != nil || string(got) != `"text"` {
		t.Fatalf("Get of a string as bytes = %q, %v; want JSON %q", got, err, `"text"`)
	}
	var s string
	if err := h.st.Get(h.ctx, k, &s); err != nil || s != "text" {
		t.Fatalf("Get string = %q, %v", s, err)
	}
	if err := h.st.Get(h.ctx, k, nil); !errors.Is(err, state.ErrDecode) {
		t.Fatalf("Get into nil = %v, want ErrDecode", err)
	}
	if err := h.st.Set(h.ctx, k, func() {}); err == nil {
		t.Fatal("Set of a func succeeded")
	}
	if err := h.st.Ping(h.ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testMissing(t *testing.T, h *harness) {
	out := doc{Name: "keep"}
	err := h.st.Get(h.ctx, h.key("missing"), &out)
	if !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("Get missing = %v, want ErrNotFound", err)
	}
	if out.Name != "keep" {
		t.Fatalf("dst changed to %+v", out)
	}
}

func testDecodeError(t *testing.T, h *harness) {
	k := h.key("bad")
	want := doc{Name: "keep", N: 1}
	out := want
	if err := h.st.Set(h.ctx, k, []byte("not json")); err != nil {
		t.Fatal(err)
	}
	err := h.st.Get(h.ctx, k, &out)
	var de *state.DecodeError
	if !errors.Is(err, state.ErrDecode) || !errors.As(err, &de) || de.Key != k {
		t.Fatalf("Get = %v, want a *DecodeError for %q", err, k)
	}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("dst changed to %+v", out)
	}
	// A type mismatch after a field that does decode: encoding/json would
	// have written Name before failing on N.
	if err := h.st.Set(h.ctx, k, []byte(`{"name":"new","n":"not a number"}`)); err != nil {
		t.Fatal(err)
	}
	if err := h.st.Get(h.ctx, k, &out); !errors.Is(err, state.ErrDecode) {
		t.Fatalf("Get = %v, want ErrDecode", err)
	}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("dst half-written: %+v", out)
	}
}

func testExpiry(t *testing.T, h *harness) {
	if h.clock != nil {
		testExpiryClock(t, h)
		return
	}
	const ttl = 300 * time.Millisecond
	k := h.key("ttl")
	start := time.Now()
	if err := h.st.Set(h.ctx, k, 1, state.Expire(ttl)); err != nil {
		t.Fatal(err)
	}
	if gone := h.waitGone(t, k); gone.Sub(start) < ttl-10*time.Millisecond {
		t.Fatalf("expired after %v, before its TTL %v", gone.Sub(start), ttl)
	}

	// Set without Expire clears an earlier expiry: a fence set later with
	// the same TTL expires first.
	cleared, fence := h.key("cleared"), h.key("fence")
	if err := h.st.Set(h.ctx, cleared, 1, state.Expire(ttl)); err != nil {
		t.Fatal(err)
	}
	if err := h.st.Set(h.ctx, cleared, 2); err != nil {
		t.Fatal(err)
	}
	// INCR keeps the expiry.
	counter := h.key("counter")
	if err := h.st.Set(h.ctx, counter, 5, state.Expire(ttl)); err != nil {
		t.Fatal(err)
	}
	if n, err := h.st.Incr(h.ctx, counter); err != nil || n != 6 {
		t.Fatalf("Incr = %d, %v", n, err)
	}
	// Expire on an existing key.
	later := h.key("later")
	if err := h.st.Set(h.ctx, later, 1); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.st.Expire(h.ctx, later, ttl); err != nil || !ok {
		t.Fatalf("Expire existing = %v, %v", ok, err)
	}
	if err := h.st.Set(h.ctx, fence, 1, state.Expire(ttl)); err != nil {
		t.Fatal(err)
	}
	h.waitGone(t, fence)
	mustExist(t, h, cleared, 1)
	h.waitGone(t, counter)
	h.waitGone(t, later)
	testExpireEdges(t, h)
}

func testExpiryClock(t *testing.T, h *harness) {
	k := h.key("ttl")
	if err := h.st.Set(h.ctx, k, 1, state.Expire(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(10*time.Second - time.Millisecond)
	mustExist(t, h, k, 1)
	h.clock.Advance(time.Millisecond)
	var v int
	if err := h.st.Get(h.ctx, k, &v); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("Get at expiry = %v, want ErrNotFound", err)
	}

	cleared := h.key("cleared")
	if err := h.st.Set(h.ctx, cleared, 1, state.Expire(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := h.st.Set(h.ctx, cleared, 2); err != nil {
		t.Fatal(err)
	}
	counter := h.key("counter")
	if err := h.st.Set(h.ctx, counter, 5, state.Expire(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := h.st.Incr(h.ctx, counter); err != nil || n != 6 {
		t.Fatalf("Incr = %d, %v", n, err)
	}
	later := h.key("later")
	if err := h.st.Set(h.ctx, later, 1); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.st.Expire(h.ctx, later, 2*time.Second); err != nil || !ok {
		t.Fatalf("Expire existing = %v, %v", ok, err)
	}
	h.clock.Advance(time.Second)
	mustExist(t, h, cleared, 1)
	mustExist(t, h, counter, 0)
	mustExist(t, h, later, 1)
	h.clock.Advance(time.Second)
	mustExist(t, h, later, 0)
	testExpireEdges(t, h)
}

func testExpireEdges(t *testing.T, h *harness) {
	if ok, err := h.st.Expire(h.ctx, h.key("nothing"), time.Second); err != nil || ok {
		t.Fatalf("Expire missing = %v, %v; want false", ok, err)
	}
	k := h.key("zero")
	if err := h.st.Set(h.ctx, k, 1); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.st.Expire(h.ctx, k, 0); err != nil || !ok {
		t.Fatalf("Expire 0 = %v, %v", ok, err)
	}
	mustExist(t, h, k, 0)
}

func testDelExistsIncr(t *testing.T, h *harness) {
	a, b, c, d, missing := h.key("a"), h.key("b"), h.key("c"), h.key("d"), h.key("missing")
	if n, err := h.st.Del(h.ctx, a); err != nil || n != 0 {
		t.Fatalf("Del none = %d, %v", n, err)
	}
	for _, k := range []string{a, b} {
		if err := h.st.Set(h.ctx, k, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := h.st.Exists(h.ctx, a, b, a, missing); err != nil || n != 3 {
		t.Fatalf("Exists = %d, %v; want 3", n, err)
	}
	if n, err := h.st.Del(h.ctx, a, b, missing); err != nil || n != 2 {
		t.Fatalf("Del = %d, %v; want 2", n, err)
	}
	mustExist(t, h, a, 0)

	steps := []struct {
		by, want int64
	}{{1, 1}, {10, 11}, {-20, -9}}
	for _, s := range steps {
		var n int64
		var err error
		if s.by == 1 {
			n, err = h.st.Incr(h.ctx, c)
		} else {
			n, err = h.st.IncrBy(h.ctx, c, s.by)
		}
		if err != nil || n != s.want {
			t.Fatalf("IncrBy(%d) = %d, %v; want %d", s.by, n, err, s.want)
		}
	}
	var n int64
	if err := h.st.Get(h.ctx, c, &n); err != nil || n != -9 {
		t.Fatalf("Get counter = %d, %v", n, err)
	}
	if err := h.st.Set(h.ctx, d, "text"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.Incr(h.ctx, d); !errors.Is(err, state.ErrNotInteger) {
		t.Fatalf("Incr of text = %v, want ErrNotInteger", err)
	}
	if err := h.st.Set(h.ctx, d, []byte("12")); err != nil {
		t.Fatal(err)
	}
	if n, err := h.st.Incr(h.ctx, d); err != nil || n != 13 {
		t.Fatalf("Incr of raw 12 = %d, %v", n, err)
	}
}

func testPubSubOrder(t *testing.T, h *harness) {
	ch := h.key("events")
	got := make(chan state.Message, 1024)
	sub, err := h.st.Subscribe(h.ctx, ch, func(m state.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	const n = 200
	for i := 0; i < n; i++ {
		if err := h.st.Publish(h.ctx, ch, i); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		m := recv(t, h.ctx, got)
		var v int
		if err := m.Decode(&v); err != nil || v != i || m.Channel != ch || m.Pattern != "" {
			t.Fatalf("message %d = %+v (%d, %v)", i, m, v, err)
		}
	}
	// Another channel is not delivered; raw bytes arrive as they are.
	if err := h.st.Publish(h.ctx, h.key("other"), "no"); err != nil {
		t.Fatal(err)
	}
	if err := h.st.Publish(h.ctx, ch, []byte("raw")); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, h.ctx, got); string(m.Payload) != "raw" {
		t.Fatalf("after raw publish got %q", m.Payload)
	}
	var x struct{ A int }
	if err := (state.Message{Channel: ch, Payload: []byte("raw")}).Decode(&x); !errors.Is(err, state.ErrDecode) {
		t.Fatalf("Decode of raw = %v, want ErrDecode", err)
	}
}

func testPattern(t *testing.T, h *harness) {
	// Each subscription sees its messages in publish order; two
	// subscriptions are not ordered with each other.
	subscribe := func(pattern string) <-chan state.Message {
		got := make(chan state.Message, 64)
		sub, err := h.st.Subscribe(h.ctx, pattern, func(m state.Message) { got <- m })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Close() })
		return got
	}
	pat1, pat2 := h.key("news.*"), h.key("c[ab]?")
	got1, got2 := subscribe(pat1), subscribe(pat2)
	for _, c := range []string{"news.a", "sport.a", "newsXb", "news.", "cax", "ccx", "cbyz", "cby", "news.end", "cbz"} {
		if err := h.st.Publish(h.ctx, h.key(c), c); err != nil {
			t.Fatal(err)
		}
	}
	check := func(got <-chan state.Message, pattern string, want ...string) {
		t.Helper()
		for _, w := range want {
			m := recv(t, h.ctx, got)
			if m.Channel != h.key(w) || m.Pattern != pattern {
				t.Fatalf("got %q via %q, want %q via %q", m.Channel, m.Pattern, h.key(w), pattern)
			}
		}
	}
	check(got1, pat1, "news.a", "news.", "news.end")
	check(got2, pat2, "cax", "cby", "cbz")
}

func testPanickingHandler(t *testing.T, h *harness) {
	ch := h.key("boom")
	got := make(chan int, 16)
	sub, err := h.st.Subscribe(h.ctx, ch, func(m state.Message) {
		var v int
		if err := m.Decode(&v); err != nil {
			t.Errorf("decode: %v", err)
		}
		if v < 0 {
			panic("handler failure")
		}
		got <- v
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for _, v := range []int{1, -1, 2, -2, 3} {
		if err := h.st.Publish(h.ctx, ch, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []int{1, 2, 3} {
		if v := recv(t, h.ctx, got); v != want {
			t.Fatalf("got %d, want %d", v, want)
		}
	}
	if p := sub.Panics(); p != 2 {
		t.Fatalf("Panics = %d, want 2", p)
	}
}

func testClose(t *testing.T, h *harness) {
	ch := h.key("close")
	var closed atomic.Bool
	var late atomic.Int64
	first := make(chan struct{}, 16)
	sub, err := h.st.Subscribe(h.ctx, ch, func(state.Message) {
		if closed.Load() {
			late.Add(1)
		}
		first <- struct{}{}
	})
	if err != nil {
		t.Fatal(err)
	}
	fence := make(chan struct{}, 16)
	sub2, err := h.st.Subscribe(h.ctx, ch, func(state.Message) { fence <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	if err := h.st.Publish(h.ctx, ch, 0); err != nil {
		t.Fatal(err)
	}
	recv(t, h.ctx, first)
	recv(t, h.ctx, fence)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	closed.Store(true)
	if err := sub.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := h.st.Publish(h.ctx, ch, i); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		recv(t, h.ctx, fence)
	}
	if n := late.Load(); n != 0 {
		t.Fatalf("handler called %d times after Close", n)
	}

	// Closing the store ends its subscriptions; everything is idempotent.
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.st.Close(); err != nil {
		t.Fatalf("second store Close = %v", err)
	}
	if err := sub2.Close(); err != nil {
		t.Fatalf("Close after store Close = %v", err)
	}
	var v int
	if err := h.st.Get(h.ctx, h.key("x"), &v); !errors.Is(err, state.ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
	if err := h.st.Set(h.ctx, h.key("x"), 1); !errors.Is(err, state.ErrClosed) {
		t.Fatalf("Set after Close = %v, want ErrClosed", err)
	}
	if _, err := h.st.Subscribe(h.ctx, ch, func(state.Message) {}); !errors.Is(err, state.ErrClosed) {
		t.Fatalf("Subscribe after Close = %v, want ErrClosed", err)
	}
}

func testTxConcurrent(t *testing.T, h *harness) {
	k := h.key("counter")
	const workers, each = 8, 25
	var attempts atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := h.st.Transaction(h.ctx, []string{k}, func(tx state.Tx) error {
					attempts.Add(1)
					var n int64
					if err := tx.Get(h.ctx, k, &n); err != nil && !errors.Is(err, state.ErrNotFound) {
						return err
					}
					return tx.Set(k, n+1)
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Transaction: %v", err)
	}
	var n int64
	if err := h.st.Get(h.ctx, k, &n); err != nil || n != workers*each {
		t.Fatalf("counter = %d, %v; want %d", n, err, workers*each)
	}
	t.Logf("%d increments took %d attempts", workers*each, attempts.Load())
}

func testTxAbortConflict(t *testing.T, h *harness) {
	k := h.key("aborted")
	errBoom := errors.New("boom")
	err := h.st.Transaction(h.ctx, []string{k}, func(tx state.Tx) error {
		if err := tx.Set(k, 1); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Transaction = %v, want fn's error", err)
	}
	mustExist(t, h, k, 0)

	// Every attempt loses to a write made outside the transaction.
	c := h.key("contended")
	var calls int64
	err = h.st.Transaction(h.ctx, []string{c}, func(tx state.Tx) error {
		calls++
		if _, err := h.st.Incr(h.ctx, c); err != nil {
			return err
		}
		return tx.Set(c, "never written")
	})
	if !errors.Is(err, state.ErrConflict) || calls < 2 {
		t.Fatalf("Transaction = %v after %d calls, want ErrConflict after several", err, calls)
	}
	var n int64
	if err := h.st.Get(h.ctx, c, &n); err != nil || n != calls {
		t.Fatalf("contended = %d, %v; want %d (no transactional write applied)", n, err, calls)
	}
}

func testTxQueued(t *testing.T, h *harness) {
	a, b, c, d := h.key("a"), h.key("b"), h.key("c"), h.key("d")
	if err := h.st.Set(h.ctx, c, 1); err != nil {
		t.Fatal(err)
	}
	if err := h.st.Set(h.ctx, d, 1); err != nil {
		t.Fatal(err)
	}
	err := h.st.Transaction(h.ctx, []string{a, b}, func(tx state.Tx) error {
		tx.Incr(a)
		tx.IncrBy(b, 5)
		tx.Del(c)
		tx.Expire(d, 0)
		return tx.Set(h.key("e"), doc{Name: "e"}, state.Expire(time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	var na, nb int64
	if err := h.st.Get(h.ctx, a, &na); err != nil || na != 1 {
		t.Fatalf("a = %d, %v", na, err)
	}
	if err := h.st.Get(h.ctx, b, &nb); err != nil || nb != 5 {
		t.Fatalf("b = %d, %v", nb, err)
	}
	if n, err := h.st.Exists(h.ctx, c, d, h.key("e")); err != nil || n != 1 {
		t.Fatalf("Exists(c, d, e) = %d, %v; want 1", n, err)
	}
	if err := h.st.Transaction(h.ctx, nil, func(tx state.Tx) error {
		return tx.Set(a, func() {})
	}); err == nil {
		t.Fatal("Transaction with an unencodable Set succeeded")
	}
	// A queued write failing on its own is reported; the others apply.
	text := h.key("text")
	if err := h.st.Set(h.ctx, text, "text"); err != nil {
		t.Fatal(err)
	}
	err = h.st.Transaction(h.ctx, []string{text}, func(tx state.Tx) error {
		tx.Incr(text)
		tx.Incr(a)
		return nil
	})
	if !errors.Is(err, state.ErrNotInteger) {
		t.Fatalf("Transaction with INCR of text = %v, want ErrNotInteger", err)
	}
	if err := h.st.Get(h.ctx, a, &na); err != nil || na != 2 {
		t.Fatalf("a after partly failed transaction = %d, %v; want 2", na, err)
	}
}

func testPipeline(t *testing.T, h *harness) {
	k, n, missing, ch := h.key("k"), h.key("n"), h.key("missing"), h.key("ch")
	res, err := h.st.Pipeline(h.ctx,
		state.Command("SET", k, "v1"),
		state.Command("GET", k),
		state.Command("SET", n, 10),
		state.Command("INCR", n),
		state.Command("INCRBY", n, 5),
		state.Command("GET", missing),
		state.Command("NOSUCHCMD", k),
		state.Command("INCR", k),
		state.Command("EXISTS", k, n, missing),
		state.Command("EXPIRE", n, 100),
		state.Command("DEL", k, missing),
		state.Command("PUBLISH", ch, "x"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 12 {
		t.Fatalf("%d results, want 12", len(res))
	}
	text := func(i int, want string) {
		t.Helper()
		if s, err := res[i].Text(); err != nil || s != want {
			t.Errorf("result %d = %q, %v; want %q", i, s, err, want)
		}
	}
	num := func(i int, want int64) {
		t.Helper()
		if v, err := res[i].Int(); err != nil || v != want {
			t.Errorf("result %d = %d, %v (%#v); want %d", i, v, err, res[i].Val, want)
		}
	}
	fails := func(i int, target error) {
		t.Helper()
		if !errors.Is(res[i].Err, target) {
			t.Errorf("result %d error = %v, want %v", i, res[i].Err, target)
		}
	}
	text(0, "OK")
	text(1, "v1")
	text(2, "OK")
	num(3, 11)
	num(4, 16)
	fails(5, state.ErrNotFound)
	fails(6, state.ErrUnsupported)
	fails(7, state.ErrNotInteger)
	num(8, 2)
	num(9, 1)
	num(10, 1)
	num(11, 0)
	var v int
	if err := res[4].Decode(&v); err != nil || v != 16 {
		t.Errorf("Decode of result 4 = %d, %v", v, err)
	}
	if res, err := h.st.Pipeline(h.ctx); err != nil || len(res) != 0 {
		t.Errorf("empty Pipeline = %v, %v", res, err)
	}
}
