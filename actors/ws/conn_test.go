package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/internal/ask"
)

func TestSendTextBinaryJSONEchoed(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = rec
	cfg.Header = http.Header{"X-Token": {"secret"}}
	c := spawn(t, nil, "echo", cfg, Env{})

	got := rec.expect(t, ctx, "connected")
	if got.ep != srv.url() {
		t.Fatalf("connected to %q, want %q", got.ep, srv.url())
	}
	if h := srv.waitAccepted(ctx); h.Get("X-Token") != "secret" {
		t.Fatalf("handshake header X-Token = %q, want secret", h.Get("X-Token"))
	}
	if err := c.SendText(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if err := c.SendBinary(ctx, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := c.SendJSON(ctx, map[string]int{"n": 7}); err != nil {
		t.Fatal(err)
	}
	want := []Message{{Text, []byte("hello")}, {Binary, []byte{0, 1, 2}}, {Text, []byte(`{"n":7}`)}}
	for _, w := range want {
		m := rec.expect(t, ctx, "message").msg
		if m.Type != w.Type || string(m.Data) != string(w.Data) {
			t.Fatalf("echo = %v %q, want %v %q", m.Type, m.Data, w.Type, w.Data)
		}
	}
	st := c.Stats()
	if st.Sent != 3 || st.Received != 3 || st.Connects != 1 || st.State != "open" || st.Dropped != 0 {
		t.Fatalf("stats = %+v", st)
	}
	if err := c.SendJSON(ctx, func() {}); err == nil || !strings.Contains(err.Error(), "encode JSON") {
		t.Fatalf("SendJSON(func) = %v, want an encode error", err)
	}
}

func TestHandlerPIDGetsTypedMessagesInOrder(t *testing.T) {
	ctx := testCtx(t)
	sys := actortest.NewSystem(t)
	srv := startServer(t)
	got := make(chan any, 16)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *Connected, *Disconnected:
			got <- m
		case *Received:
			got <- m
		}
	}))
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait() })
	c := spawn(t, sys, "pid", fastConfig(srv.url()), Env{HandlerPID: pid})
	next := func() any {
		select {
		case m := <-got:
			return m
		case <-ctx.Done():
			t.Fatal("handler actor got nothing")
			return nil
		}
	}
	if m, ok := next().(*Connected); !ok || m.Conn != "pid" || m.Endpoint != srv.url() || m.Reconnect {
		t.Fatalf("first message = %#v, want *Connected", m)
	}
	if err := c.SendText(ctx, "ping-me"); err != nil {
		t.Fatal(err)
	}
	if m, ok := next().(*Received); !ok || string(m.Message.Data) != "ping-me" || m.Message.Type != Text {
		t.Fatalf("second message = %#v, want *Received ping-me", m)
	}
	closeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	if m, ok := next().(*Disconnected); !ok || !errors.Is(m.Err, ErrClosed) {
		t.Fatalf("third message = %#v, want *Disconnected by close", m)
	}
}

func TestActorMessagesSendAndStats(t *testing.T) {
	ctx := testCtx(t)
	sys := actortest.NewSystem(t)
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = rec
	cfg.MaxMessageSize = 8
	c := spawn(t, sys, "msg", cfg, Env{})
	rec.expect(t, ctx, "connected")
	if err := SendVia(ctx, sys.Root, c.PID(), TextMessage("by-msg")); err != nil {
		t.Fatalf("SendVia: %v", err)
	}
	rec.expect(t, ctx, "message", "by-msg")
	if err := SendVia(ctx, sys.Root, c.PID(), TextMessage("123456789")); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversize SendVia = %v, want ErrMessageTooLarge", err)
	}
	// The raw message works too, for actors that use ctx.Request.
	res, err := ask.Ask[*SendResult](ctx, sys.Root, c.PID(), &Send{Message: TextMessage("raw")})
	if err != nil || res.Err != nil {
		t.Fatalf("Send by message: %v %v", err, res)
	}
	rec.expect(t, ctx, "message", "raw")
	// A bare send (no reply wanted) is queued all the same.
	sys.Root.Send(c.PID(), &Send{Message: TextMessage("bare")})
	rec.expect(t, ctx, "message", "bare")
	st, err := StatsVia(ctx, sys.Root, c.PID())
	if err != nil || st.Sent != 3 || st.Received != 3 {
		t.Fatalf("StatsVia = %v %+v", err, st)
	}
	gone := actor.NewPID("nonhost", "no-such-conn")
	if err := SendVia(ctx, sys.Root, gone, TextMessage("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("SendVia to a missing actor = %v, want ErrClosed", err)
	}
}

// 64 goroutines send at once while the pinger writes a ping every
// millisecond: under -race this proves there is one writer, and the server
// proves each sender's order survived.
func TestConcurrentSendersOneWriter(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = HandlerFuncs{OnConnected: func(*Conn, string) { rec.calls <- call{kind: "connected"} }}
	cfg.HeartbeatInterval = time.Millisecond
	cfg.HeartbeatGrace = 5 * time.Second
	cfg.QueueSize = 64
	c := spawn(t, nil, "many", cfg, Env{})
	rec.expect(t, ctx, "connected")

	const senders, each = 64, 50
	errs := make(chan error, senders)
	for g := range senders {
		go func() {
			for i := range each {
				if err := c.SendText(ctx, fmt.Sprintf("%d:%d", g, i)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range senders {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	last := make([]int, senders)
	for i := range last {
		last[i] = -1
	}
	for range senders * each {
		m := srv.next(ctx)
		var g, i int
		if _, err := fmt.Sscanf(m.data, "%d:%d", &g, &i); err != nil {
			t.Fatalf("server got %q: %v", m.data, err)
		}
		if i != last[g]+1 {
			t.Fatalf("sender %d: message %d after %d", g, i, last[g])
		}
		last[g] = i
	}
	if st := c.Stats(); st.Sent != senders*each || st.Dropped != 0 {
		t.Fatalf("stats = %+v, want %d sent, none dropped", st, senders*each)
	}
	// The pinger wrote through the same writer meanwhile, and was answered.
	waitUntil(t, ctx, func() bool { return c.Stats().Pongs > 0 })
}

func TestAbruptCloseReconnects(t *testing.T) {
	ctx := testCtx(t)
	sys := actortest.NewSystem(t)
	evs := collect(t, sys)
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = rec
	c := spawn(t, sys, "abrupt", cfg, Env{Events: sys.EventStream})
	rec.expect(t, ctx, "connected")
	srv.waitAccepted(ctx) // the server has registered it: dropAll sees it
	srv.dropAll()
	d := rec.expect(t, ctx, "disconnected")
	if d.err == nil || errors.Is(d.err, ErrClosed) {
		t.Fatalf("disconnected with %v, want the read error", d.err)
	}
	rec.expect(t, ctx, "connected")
	if st := c.Stats(); st.Connects != 2 {
		t.Fatalf("connects = %d, want 2", st.Connects)
	}
	// The events tell the same story, in order.
	var kinds []string
	for len(kinds) < 5 {
		ev := evs.waitFor(t, ctx, "ws", func(ev event.Event) bool { return strings.HasPrefix(ev.Kind(), "ws.") })
		k := ev.Kind()
		if a, ok := ev.(*DialAttempted); ok && a.Err == "" {
			k += "(ok)"
		}
		if cn, ok := ev.(*Connected); ok && cn.Reconnect {
			k += "(re)"
		}
		kinds = append(kinds, k)
	}
	want := "ws.dial_attempted(ok) ws.connected ws.disconnected ws.dial_attempted(ok) ws.connected(re)"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
}

func TestNoPongNoticedThenRedialled(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = rec
	cfg.HeartbeatInterval = 50 * time.Millisecond
	cfg.HeartbeatGrace = 100 * time.Millisecond
	c := spawn(t, nil, "nopong", cfg, Env{})
	rec.expect(t, ctx, "connected")
	// Let two pongs arrive, so the deadline has moved; the clock of the
	// measurement starts at the last one.
	waitUntil(t, ctx, func() bool { return c.Stats().Pongs >= 2 })
	srv.noPong.Store(true)
	stopped := time.Now()
	d := rec.expect(t, ctx, "disconnected")
	noticed := time.Since(stopped)
	if !errors.Is(d.err, ErrHeartbeatTimeout) {
		t.Fatalf("disconnected with %v, want ErrHeartbeatTimeout", d.err)
	}
	t.Logf("dead peer noticed %v after pongs stopped (heartbeat %v + grace %v = %v)",
		noticed, cfg.HeartbeatInterval, cfg.HeartbeatGrace, cfg.HeartbeatInterval+cfg.HeartbeatGrace)
	srv.noPong.Store(false)
	rec.expect(t, ctx, "connected")
	if st := c.Stats(); st.HeartbeatLost != 1 || st.Connects != 2 {
		t.Fatalf("stats = %+v, want 1 heartbeat lost, 2 connects", st)
	}
}

func waitUntil(t testing.TB, ctx context.Context, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("condition never held")
		}
	}
}

// The server restarts on the same port: the connection comes back, the
// subscriptions are replayed first, then the reconnect hook's message,
// then the sends queued while down, in order.
func TestServerRestartReplaysAndDeliversQueued(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = rec
	cfg.Subscriptions = []Message{TextMessage("sub:a")}
	var infos = make(chan ReconnectInfo, 4)
	cfg.OnReconnect = func(_ context.Context, info ReconnectInfo) []Message {
		infos <- info
		return []Message{TextMessage("resync")}
	}
	c := spawn(t, nil, "restart", cfg, Env{})
	rec.expect(t, ctx, "connected")
	if err := c.Subscribe(TextMessage("sub:b")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sub:a", "sub:b"} {
		if m := srv.next(ctx); m.data != want {
			t.Fatalf("server got %q, want %q", m.data, want)
		}
	}
	rec.expect(t, ctx, "message", "sub:a")
	rec.expect(t, ctx, "message", "sub:b")
	srv.Stop()
	rec.expect(t, ctx, "disconnected")
	for i := range 5 {
		if err := c.SendText(ctx, fmt.Sprintf("q%d", i)); err != nil {
			t.Fatalf("send while down: %v", err)
		}
	}
	if st := c.Stats(); st.Queued != 5 || st.State != "connecting" {
		t.Fatalf("stats while down = %+v", st)
	}
	srv.Restart()
	rec.expect(t, ctx, "connected")
	var got []string
	for range 8 {
		got = append(got, srv.next(ctx).data)
	}
	want := "sub:a sub:b resync q0 q1 q2 q3 q4"
	if strings.Join(got, " ") != want {
		t.Fatalf("after restart the server got\n %s\nwant\n %s", strings.Join(got, " "), want)
	}
	info := <-infos
	if info.Reconnects != 1 || info.Endpoint != srv.url() || info.Down <= 0 {
		t.Fatalf("reconnect info = %+v", info)
	}
}

func TestQueueFullWhileDown(t *testing.T) {
	ctx := testCtx(t)
	cfg := fastConfig("ws://" + deadAddr(t) + "/")
	cfg.QueueSize = 3
	c := spawn(t, nil, "full", cfg, Env{})
	for i := range 3 {
		if err := c.SendText(ctx, fmt.Sprint(i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := c.SendText(ctx, "3"); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("4th send = %v, want ErrQueueFull", err)
	}
	if err := c.TrySend(TextMessage("4"), time.Time{}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("TrySend = %v, want ErrQueueFull", err)
	}
	if st := c.Stats(); st.QueueFull != 2 || st.Dropped != 2 || st.Queued != 3 {
		t.Fatalf("stats = %+v, want 2 queue-full drops, 3 queued", st)
	}
}

func TestFailFastWhileDown(t *testing.T) {
	ctx := testCtx(t)
	cfg := fastConfig("ws://" + deadAddr(t) + "/")
	cfg.WhileDisconnected = FailFast
	c := spawn(t, nil, "fast", cfg, Env{})
	for range 2 {
		if err := c.SendText(ctx, "x"); !errors.Is(err, ErrNotConnected) {
			t.Fatalf("send = %v, want ErrNotConnected", err)
		}
	}
	if st := c.Stats(); st.NotConnected != 2 || st.Dropped != 2 || st.Queued != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestQueuedSendExpires(t *testing.T) {
	ctx := testCtx(t)
	sys := actortest.NewSystem(t)
	evs := collect(t, sys)
	srv := startServer(t)
	addr := srv.url()
	srv.Stop()
	clock := &fakeClock{now: time.Unix(1000, 0)}
	cfg := fastConfig(addr)
	cfg.QueueTimeout = time.Minute
	cfg.now = clock.Now
	c := spawn(t, sys, "expire", cfg, Env{Events: sys.EventStream})
	if err := c.SendText(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithDeadline(ctx, clock.Now().Add(10*time.Second))
	if err := c.SendText(short, "short"); err != nil {
		t.Fatal(err)
	}
	cancel()
	clock.Advance(30 * time.Second) // "short" has expired, "old" has not
	if err := c.SendText(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	if a, b := srv.next(ctx).data, srv.next(ctx).data; a != "old" || b != "new" {
		t.Fatalf("server got %q %q, want old new", a, b)
	}
	ev := evs.waitFor(t, ctx, "send_dropped", func(ev event.Event) bool { return ev.Kind() == KindSendDropped }).(*SendDropped)
	if ev.Count != 1 || ev.Conn != "expire" || ev.Reason != ErrExpired.Error() {
		t.Fatalf("event = %+v", ev)
	}
	if st := c.Stats(); st.Expired != 1 || st.Dropped != 1 || st.Sent != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestOversizeFrameClosesThatConnection(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = rec
	cfg.MaxMessageSize = 1024
	c := spawn(t, nil, "big", cfg, Env{})
	rec.expect(t, ctx, "connected")
	if err := c.SendBinary(ctx, make([]byte, 1025)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversize send = %v, want ErrMessageTooLarge", err)
	}
	srv.waitAccepted(ctx) // registered, so push reaches it
	srv.push(websocket.BinaryMessage, make([]byte, 2048))
	d := rec.expect(t, ctx, "disconnected")
	var tl *TooLargeError
	if !errors.Is(d.err, ErrMessageTooLarge) || !errors.As(d.err, &tl) || !tl.Incoming || tl.Limit != 1024 {
		t.Fatalf("disconnected with %v, want an incoming TooLargeError", d.err)
	}
	select {
	case code := <-srv.closes:
		if code != websocket.CloseMessageTooBig {
			t.Fatalf("server saw close code %d, want 1009", code)
		}
	case <-ctx.Done():
		t.Fatal("server saw no close frame")
	}
	rec.expect(t, ctx, "connected")
	if err := c.SendText(ctx, "still fine"); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, ctx, "message", "still fine")
}

func TestGracefulClose(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = rec
	c := spawn(t, nil, "graceful", cfg, Env{})
	rec.expect(t, ctx, "connected")
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if code := <-srv.closes; code != websocket.CloseNormalClosure {
		t.Fatalf("server saw close code %d, want 1000", code)
	}
	// Our close frame was answered: the reader ended on the peer's close
	// frame, not on the socket being torn down.
	d := rec.expect(t, ctx, "disconnected")
	if !errors.Is(d.err, ErrClosed) {
		t.Fatalf("disconnected with %v", d.err)
	}
	if err := c.SendText(ctx, "late"); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close = %v, want ErrClosed", err)
	}
	if c.State() != Closed {
		t.Fatalf("state = %v", c.State())
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// A peer that never answers our close frame costs CloseTimeout, not a hang.
func TestCloseWaitIsBounded(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	srv.noCloseReply.Store(true)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = rec
	cfg.CloseTimeout = 50 * time.Millisecond
	c := spawn(t, nil, "bounded", cfg, Env{})
	rec.expect(t, ctx, "connected")
	start := time.Now()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("close with a silent peer took %v (CloseTimeout %v)", time.Since(start), cfg.CloseTimeout)
	if code := <-srv.closes; code != websocket.CloseNormalClosure {
		t.Fatalf("server saw close code %d", code)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"none", Config{}},
		{"scheme", Config{Endpoints: []string{"http://x/"}}},
		{"host", Config{Endpoints: []string{"ws:///path"}}},
		{"policy", Config{Endpoints: []string{"ws://x/"}, WhileDisconnected: 9}},
		{"ca", Config{Endpoints: []string{"wss://x/"}, TLS: TLS{CAFile: "/nonexistent"}}},
		{"pair", Config{Endpoints: []string{"wss://x/"}, TLS: TLS{CertFile: "a"}}},
	} {
		if _, err := New("x", tc.cfg, Env{}); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig", tc.name, err)
		}
	}
	c, err := New("x", Config{Endpoints: []string{"ws://127.0.0.1:1/"}}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	d := c.cfg
	if d.HeartbeatInterval != DefaultHeartbeatInterval || d.HeartbeatGrace != DefaultHeartbeatGrace ||
		d.BackoffInitial != 200*time.Millisecond || d.BackoffMax != 20*time.Second ||
		d.QueueSize != DefaultQueueSize || d.MaxMessageSize != DefaultMaxMessageSize || d.WhileDisconnected != Queue {
		t.Fatalf("defaults = %+v", d)
	}
	for in, want := range map[string]DisconnectedPolicy{"": Queue, "queue": Queue, "FAIL-FAST": FailFast, "fail_fast": FailFast} {
		var p DisconnectedPolicy
		if err := json.Unmarshal([]byte(`"`+in+`"`), &p); err != nil || p != want {
			t.Errorf("policy %q = %v %v, want %v", in, p, err, want)
		}
	}
	if _, err := ParsePolicy("drop"); !errors.Is(err, ErrConfig) {
		t.Errorf("ParsePolicy(drop) = %v, want ErrConfig", err)
	}
	if b, _ := json.Marshal(FailFast); string(b) != `"fail_fast"` {
		t.Errorf("FailFast marshals as %s", b)
	}
}

// A subscription sent at once on an open session that then ends before
// writing it is not written twice: the next session replays it and skips
// the queued copy.
func TestSubscribeOnDeadSessionNotDuplicated(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	c, err := New("dup", fastConfig(srv.url()), Env{})
	if err != nil {
		t.Fatal(err)
	}
	c.live = &session{id: 99} // an open session that is about to end
	if err := c.Subscribe(TextMessage("sub")); err != nil {
		t.Fatal(err)
	}
	c.live = nil
	if err := c.SendText(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	sys := actortest.NewSystem(t)
	if _, err := c.Spawn(sys.Root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	if a, b := srv.next(ctx).data, srv.next(ctx).data; a != "sub" || b != "after" {
		t.Fatalf("server got %q then %q, want sub then after", a, b)
	}
	if st := c.Stats(); st.Sent != 2 {
		t.Fatalf("sent = %d, want 2", st.Sent)
	}
}

// A send whose write failed on the last session (kept in head) is written
// first on the next one, ahead of the queue, so a loss does not reorder.
func TestFailedWriteIsRetriedFirst(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	c, err := New("head", fastConfig(srv.url()), Env{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendText(ctx, "second"); err != nil {
		t.Fatal(err)
	}
	first, err := c.prepare(TextMessage("first"), time.Time{}, true)
	if err != nil {
		t.Fatal(err)
	}
	c.head = first // as left by a writer whose write failed
	sys := actortest.NewSystem(t)
	if _, err := c.Spawn(sys.Root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	if a, b := srv.next(ctx).data, srv.next(ctx).data; a != "first" || b != "second" {
		t.Fatalf("server got %q then %q, want first then second", a, b)
	}
}

// A peer that stops reading lets TCP back up until the writer blocks in a
// write; the heartbeat still notices (the reader closes the socket, which
// unblocks the writer) and the connection redials, well before the
// 30-second WriteTimeout.
func TestStalledPeerUnblocksWriter(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = HandlerFuncs{
		OnConnected:    rec.Connected,
		OnDisconnected: rec.Disconnected,
	}
	cfg.HeartbeatInterval = 50 * time.Millisecond
	cfg.HeartbeatGrace = 100 * time.Millisecond
	cfg.WriteTimeout = 30 * time.Second
	cfg.QueueSize = 4096
	c := spawn(t, nil, "stalled", cfg, Env{})
	rec.expect(t, ctx, "connected")
	srv.stall.Store(true)
	big := make([]byte, 64<<10)
	for range 400 { // 25 MiB: more than loopback buffers hold
		if err := c.SendBinary(ctx, big); err != nil {
			t.Fatal(err)
		}
	}
	d := rec.expect(t, ctx, "disconnected")
	if !errors.Is(d.err, ErrHeartbeatTimeout) {
		t.Fatalf("disconnected with %v, want ErrHeartbeatTimeout", d.err)
	}
	srv.stall.Store(false)
	rec.expect(t, ctx, "connected")
}

// With the writer blocked on a peer that stopped reading, a full queue
// makes Send wait for room until its ctx ends (ErrQueueFull wrapping the
// deadline), and Close still returns in about CloseTimeout, not
// WriteTimeout; what was not written is counted as abandoned.
func TestBackpressureAndBoundedCloseOnStalledPeer(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = HandlerFuncs{OnConnected: rec.Connected}
	cfg.HeartbeatInterval = -1 // only the write path is under test
	cfg.WriteTimeout = 30 * time.Second
	cfg.CloseTimeout = 100 * time.Millisecond
	cfg.QueueSize = 2
	c, err := New("backpressure", cfg, Env{})
	if err != nil {
		t.Fatal(err)
	}
	sys := actortest.NewSystem(t)
	if _, err := c.Spawn(sys.Root); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, ctx, "connected")
	srv.stall.Store(true)
	big := make([]byte, 256<<10)
	var full error
	for i := 0; i < 1000 && full == nil; i++ {
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		full = c.SendBinary(short, big)
		cancel()
	}
	if !errors.Is(full, ErrQueueFull) || !errors.Is(full, context.DeadlineExceeded) {
		t.Fatalf("send on a backed-up open connection = %v, want ErrQueueFull + DeadlineExceeded", full)
	}
	start := time.Now()
	closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Close(closeCtx); err != nil {
		t.Fatalf("close with a stalled peer: %v", err)
	}
	t.Logf("close with a writer blocked on a stalled peer took %v (CloseTimeout %v, WriteTimeout %v)",
		time.Since(start), cfg.CloseTimeout, cfg.WriteTimeout)
	st := c.Stats()
	if st.QueueFull != 1 || st.Abandoned != 3 || st.Queued != 0 {
		t.Fatalf("stats = %+v, want 1 queue-full, 3 abandoned (the blocked write and a full queue of 2)", st)
	}
}
