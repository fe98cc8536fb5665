package ws

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// On an open connection whose writer is idle and whose queue is empty, a
// Send is written on the caller's goroutine: it is counted as sent when
// Send returns, and nothing was queued. A ctx whose deadline is sooner
// than WriteTimeout goes through the queue and the writer goroutine
// instead, and order holds across both paths.
func TestIdleSendWritesInline(t *testing.T) {
	ctx := testCtx(t) // 20 s: later than the 10 s WriteTimeout
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = HandlerFuncs{OnConnected: rec.Connected}
	c := spawn(t, nil, "inline", cfg, Env{})
	rec.expect(t, ctx, "connected")
	waitUntil(t, ctx, func() bool { return c.inline.Load() != nil })
	const n = 50
	for i := range n {
		if err := c.SendText(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		if st := c.Stats(); st.Sent != uint64(i+1) || st.Queued != 0 {
			t.Fatalf("after send %d: sent %d, queued %d; want %d written inline, none queued", i, st.Sent, st.Queued, i+1)
		}
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	for i := n; i < 2*n; i++ {
		sctx := ctx
		if i%2 == 0 {
			sctx = short // queued: a write could outlast it
		}
		if err := c.SendText(sctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 * n {
		if m := srv.next(ctx); m.data != fmt.Sprint(i) {
			t.Fatalf("server got %q, want %d", m.data, i)
		}
	}
	if st := c.Stats(); st.Sent != 2*n || st.Dropped != 0 {
		t.Fatalf("stats = %+v, want %d sent, none dropped", st, 2*n)
	}
}

// An inline write that fails keeps the message (a copy: the caller may
// reuse its buffer) first for the next session, ends the session to
// writes, and kicks the writer goroutine so that it tears the session
// down; later sends are queued behind it. Driven without the session's
// goroutines, so that nothing else can win the token.
func TestFailedInlineWriteIsKeptFirst(t *testing.T) {
	ctx := testCtx(t)
	c, wsc := detached(t, ctx, "inline-fail")
	_ = wsc.NetConn().Close() // the next write fails
	s := &session{id: 1, ws: wsc, ctx: ctx}
	c.inline.Store(s)
	buf := []byte("first")
	if err := c.SendBinary(ctx, buf); err != nil {
		t.Fatalf("send whose inline write failed = %v, want nil (kept for the next session)", err)
	}
	copy(buf, "XXXXX")
	if c.head == nil || string(c.head.data) != "first" || c.head.typ != int(Binary) {
		t.Fatalf("head = %+v, want the failed send, copied", c.head)
	}
	if !s.ended || s.cause() == nil {
		t.Fatalf("session ended %v, cause %v; want ended with the write error", s.ended, s.cause())
	}
	select {
	case <-c.kick:
	default:
		t.Fatal("writer goroutine not kicked")
	}
	if err := c.SendText(ctx, "second"); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sent != 0 || st.Queued != 1 || st.Dropped != 0 {
		t.Fatalf("stats = %+v, want nothing sent, the second send queued", st)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Abandoned != 2 {
		t.Fatalf("abandoned = %d, want 2 (head and the queued send)", st.Abandoned)
	}
}

// A session whose incarnation has ended (stop, restart) takes no inline
// write: the send is kept, not written on a connection being closed.
func TestInlineWriteAfterStopIsKept(t *testing.T) {
	ctx := testCtx(t)
	c, wsc := detached(t, ctx, "inline-stopped")
	ictx, stop := context.WithCancelCause(ctx)
	stop(ErrRestarting)
	s := &session{id: 1, ws: wsc, ctx: ictx}
	c.inline.Store(s)
	if err := c.SendText(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	if c.head == nil || string(c.head.data) != "kept" || !errors.Is(s.cause(), ErrRestarting) {
		t.Fatalf("head %+v, cause %v; want the send kept and the session ended by the restart", c.head, s.cause())
	}
	if st := c.Stats(); st.Sent != 0 {
		t.Fatalf("sent = %d, want 0", st.Sent)
	}
}

// The queue holds no buffer while empty: an idle connection costs no
// queue memory, and a burst's buffer is given back once it is written.
// gorilla's write buffer is pooled too, so an idle connection holds none.
func TestQueueMemoryReleasedWhenDrained(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	c, err := New("burst", fastConfig(srv.url()), Env{})
	if err != nil {
		t.Fatal(err)
	}
	bufCap := func() int {
		c.qmu.Lock()
		defer c.qmu.Unlock()
		return len(c.q.buf)
	}
	if n := bufCap(); n != 0 {
		t.Fatalf("new connection's queue buffer = %d slots, want none", n)
	}
	if c.dialer.WriteBufferPool == nil {
		t.Fatal("no write buffer pool: every connection holds a write buffer while idle")
	}
	const n = 100
	for i := range n { // down: all queued
		if err := c.SendText(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); st.Queued != n || bufCap() < n {
		t.Fatalf("queued %d in %d slots, want %d", st.Queued, bufCap(), n)
	}
	sys := actortest.NewSystem(t)
	if _, err := c.Spawn(sys.Root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	for i := range n {
		if m := srv.next(ctx); m.data != fmt.Sprint(i) {
			t.Fatalf("server got %q, want %d", m.data, i)
		}
	}
	waitUntil(t, ctx, func() bool { return c.Stats().Queued == 0 })
	if got := bufCap(); got != 0 {
		t.Fatalf("drained queue keeps %d slots, want none", got)
	}
}

func TestRing(t *testing.T) {
	var r ring
	msg := func(i int) *outMsg { return &outMsg{typ: i} }
	for i := range 5 {
		r.push(msg(i))
	}
	r.pushFront(msg(-1))
	if r.pop().typ != -1 {
		t.Fatal("pushFront not first")
	}
	for i := range 3 {
		if m := r.pop(); m.typ != i {
			t.Fatalf("pop = %d, want %d", m.typ, i)
		}
	}
	for i := 5; i < 20; i++ { // wraps and grows
		r.push(msg(i))
	}
	for i := 3; i < 20; i++ {
		if m := r.pop(); m == nil || m.typ != i {
			t.Fatalf("pop = %v, want %d", m, i)
		}
	}
	if r.pop() != nil || r.len() != 0 || r.buf != nil {
		t.Fatalf("empty ring: len %d, %d slots kept; want 0 and none", r.len(), len(r.buf))
	}
	r.push(msg(1))
	r.pop()
	if len(r.buf) != 4 {
		t.Fatalf("small buffer not kept: %d slots", len(r.buf))
	}
}

// With WriterOnly the session never opens the inline path: every Send is
// handed to the writer goroutine, and order and counts hold as on the
// inline path.
func TestWriterOnlyNeverWritesInline(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.WriterOnly = true
	cfg.Handler = HandlerFuncs{OnConnected: rec.Connected}
	c := spawn(t, nil, "writer-only", cfg, Env{})
	rec.expect(t, ctx, "connected")
	const n = 50
	for i := range n {
		if err := c.SendText(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if m := srv.next(ctx); m.data != fmt.Sprint(i) {
			t.Fatalf("server got %q, want %d", m.data, i)
		}
	}
	if s := c.inline.Load(); s != nil {
		t.Fatal("WriterOnly connection opened the inline path")
	}
	waitUntil(t, ctx, func() bool { return c.Stats().Sent == n })
	if st := c.Stats(); st.Dropped != 0 || st.Queued != 0 {
		t.Fatalf("stats = %+v, want %d sent, none dropped or left queued", st, n)
	}
}

// detached is a Conn that was never spawned (no session goroutines) and a
// gorilla connection to a loopback server, for tests that drive a session
// by hand.
func detached(t *testing.T, ctx context.Context, name string) (*Conn, *websocket.Conn) {
	t.Helper()
	srv := startServer(t)
	c, err := New(name, fastConfig(srv.url()), Env{})
	if err != nil {
		t.Fatal(err)
	}
	wsc, _, err := websocket.DefaultDialer.DialContext(ctx, srv.url(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wsc.Close() })
	return c, wsc
}
