package ws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/supervisor"
)

func startPool(t *testing.T, cfg PoolConfig, env Env, senv supervisor.Env) *Pool {
	t.Helper()
	sys := actortest.NewSystem(t)
	p, err := NewPool(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(sys.Root, senv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("pool close: %v", err)
		}
	})
	return p
}

// A handler that panics restarts its own connection's actor (and no
// other), raises a Warning, and the connection comes back.
func TestHandlerPanicRestartsOnlyItsConnection(t *testing.T) {
	ctx := testCtx(t)
	sys := actortest.NewSystem(t)
	evs := collect(t, sys)
	srv := startServer(t)
	alerts := newRaiser()
	rec := newRecorder()
	rec.onMessage = func(_ *Conn, m Message) {
		if string(m.Data) == "boom" {
			panic("boom")
		}
	}
	cfg := PoolConfig{Name: "chat", Size: 2, Conn: fastConfig(srv.url())}
	cfg.Conn.Handler = rec
	p, err := NewPool(cfg, Env{Events: sys.EventStream, Alerts: alerts})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(sys.Root, supervisor.Env{Events: sys.EventStream}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	c0, c1 := p.Conns()[0], p.Conns()[1]
	rec.expect(t, ctx, "connected")
	rec.expect(t, ctx, "connected")

	if err := c0.SendText(ctx, "boom"); err != nil {
		t.Fatal(err)
	}
	d := rec.expect(t, ctx, "disconnected")
	if d.conn != "chat/conn/0" || !errors.Is(d.err, ErrHandlerPanic) {
		t.Fatalf("disconnected %s with %v, want chat/conn/0 with ErrHandlerPanic", d.conn, d.err)
	}
	select {
	case a := <-alerts.ch:
		if a != "warning|chat/conn/0|ws: handler panicked: boom" {
			t.Fatalf("alert = %q", a)
		}
	case <-ctx.Done():
		t.Fatal("no alert")
	}
	ev := evs.waitFor(t, ctx, "actor.restarted", func(ev event.Event) bool { return ev.Kind() == "actor.restarted" }).(*event.ActorRestarted)
	if ev.Name != "chat/conn/0" || !strings.Contains(ev.Reason, "boom") {
		t.Fatalf("restarted %+v, want chat/conn/0 for boom", ev)
	}
	if c := rec.expect(t, ctx, "connected"); c.conn != "chat/conn/0" {
		t.Fatalf("reconnected %s, want chat/conn/0", c.conn)
	}
	// The sibling never noticed.
	if err := c1.SendText(ctx, "calm"); err != nil {
		t.Fatal(err)
	}
	if m := rec.expect(t, ctx, "message", "calm"); m.conn != "chat/conn/1" {
		t.Fatalf("echo on %s", m.conn)
	}
	s0, s1 := c0.Stats(), c1.Stats()
	if s0.Connects != 2 || s0.HandlerPanics != 1 || s1.Connects != 1 || s1.HandlerPanics != 0 {
		t.Fatalf("stats conn0 %+v conn1 %+v", s0, s1)
	}
	kids, err := supervisor.List(ctx, sys.Root, p.Supervisor())
	if err != nil {
		t.Fatal(err)
	}
	if len(kids) != 2 || kids[0].Restarts != 1 || kids[1].Restarts != 0 {
		t.Fatalf("children = %+v, want restarts 1 and 0", kids)
	}
	alerts.mu.Lock()
	n := len(alerts.alerts)
	alerts.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d alerts, want 1", n)
	}
}

func TestPoolPickRoundRobinAndSticky(t *testing.T) {
	p, err := NewPool(PoolConfig{Name: "p", Size: 3, Conn: Config{Endpoints: []string{"ws://127.0.0.1:1/"}}}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	cs := p.Conns()
	var got []string
	for range 4 {
		got = append(got, p.Pick("").Name())
	}
	if want := "p/conn/0 p/conn/1 p/conn/2 p/conn/0"; strings.Join(got, " ") != want {
		t.Fatalf("round robin with none open = %v, want %s", got, want)
	}
	cs[2].connected.Store(true)
	cs[0].connected.Store(true)
	got = got[:0]
	for range 4 {
		got = append(got, p.Pick("").Name())
	}
	// The counter goes on from 4: 4%3=1 is down, so conn 2; then 2, 0, and
	// 7%3=1 is down again, so 2. A down connection's turn goes to the next.
	if want := "p/conn/2 p/conn/2 p/conn/0 p/conn/2"; strings.Join(got, " ") != want {
		t.Fatalf("round robin over open ones = %v, want %s", got, want)
	}
	for _, key := range []string{"alice", "bob", "carol"} {
		first := p.Pick(key)
		for range 10 {
			if p.Pick(key) != first {
				t.Fatalf("key %s moved", key)
			}
		}
	}
	seen := map[*Conn]bool{}
	for i := range 64 {
		seen[p.Pick(fmt.Sprint("user-", i))] = true
	}
	if len(seen) != 3 {
		t.Fatalf("64 keys used %d connections, want 3", len(seen))
	}
	under, err := NewPool(PoolConfig{Name: "users", Path: "s1/pool/users", Size: 2, Conn: Config{Endpoints: []string{"ws://a/"}}}, Env{})
	if err != nil || under.Conns()[1].Name() != "s1/pool/users/conn/1" || under.ChildSpecs()[1].Name != "conn/1" {
		t.Fatalf("pool with a path: %v %s", err, under.Conns()[1].Name())
	}
	if _, err := NewPool(PoolConfig{Size: 1}, Env{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("nameless pool: %v", err)
	}
	if _, err := NewPool(PoolConfig{Name: "x", Size: -1, Conn: Config{Endpoints: []string{"ws://a/"}}}, Env{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("negative size: %v", err)
	}
}

func TestFailoverToNextEndpoint(t *testing.T) {
	ctx := testCtx(t)
	sys := actortest.NewSystem(t)
	evs := collect(t, sys)
	a, b := startServer(t), startServer(t)
	dead := "ws://" + deadAddr(t) + "/"
	rec := newRecorder()
	cfg := fastConfig(dead, a.url(), b.url())
	cfg.Handler = rec
	c := spawn(t, sys, "fo", cfg, Env{Events: sys.EventStream})
	if got := rec.expect(t, ctx, "connected"); got.ep != a.url() {
		t.Fatalf("connected to %s, want the first live endpoint %s", got.ep, a.url())
	}
	first := evs.waitFor(t, ctx, "dial", func(ev event.Event) bool { return ev.Kind() == KindDialAttempted }).(*DialAttempted)
	second := evs.waitFor(t, ctx, "dial", func(ev event.Event) bool { return ev.Kind() == KindDialAttempted }).(*DialAttempted)
	if first.Endpoint != dead || first.Err == "" || first.Attempt != 1 || first.Delay != 0 ||
		second.Endpoint != a.url() || second.Err != "" || second.Attempt != 2 {
		t.Fatalf("attempts: %+v then %+v", first, second)
	}
	// a dies: the redial starts at a (last good), fails, and moves on to b
	// at once.
	a.Stop()
	rec.expect(t, ctx, "disconnected")
	if got := rec.expect(t, ctx, "connected"); got.ep != b.url() {
		t.Fatalf("failed over to %s, want %s", got.ep, b.url())
	}
	if st := c.Stats(); st.Endpoint != b.url() || st.Connects != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestBreakerGuardsDials(t *testing.T) {
	ctx := testCtx(t)
	sys := actortest.NewSystem(t)
	evs := collect(t, sys)
	br := breaker.New("ws-dial", breaker.Settings{FailureThreshold: 2, RecoveryTimeout: time.Hour})
	dead := "ws://" + deadAddr(t) + "/"
	c := spawn(t, sys, "br", fastConfig(dead), Env{Events: sys.EventStream, Breaker: br})
	var got []string
	for len(got) < 4 {
		ev := evs.waitFor(t, ctx, "dial", func(ev event.Event) bool { return ev.Kind() == KindDialAttempted }).(*DialAttempted)
		if ev.Delay < 0 || ev.Delay >= 20*time.Millisecond {
			t.Fatalf("delay %v outside [0, BackoffMax)", ev.Delay)
		}
		got = append(got, fmt.Sprintf("%d:%v", ev.Attempt, ev.BreakerOpen))
	}
	if want := "1:false 2:false 3:true 4:true"; strings.Join(got, " ") != want {
		t.Fatalf("attempts %v, want %s", got, want)
	}
	if st := br.Stats(); st.State != breaker.Open {
		t.Fatalf("breaker %v, want open", st.State)
	}
	if st := c.Stats(); st.DialFailures < 4 || st.Connects != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	top := func(n int64) int64 { return n - 1 }
	var got []time.Duration
	for n := range 10 {
		got = append(got, backoff(n, 200*time.Millisecond, 20*time.Second, top)+time.Nanosecond)
	}
	want := []time.Duration{200, 400, 800, 1600, 3200, 6400, 12800, 20000, 20000, 20000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("attempt %d: upper bound %v, want %v", i, got[i], want[i]*time.Millisecond)
		}
	}
	if d := backoff(3, 200*time.Millisecond, 20*time.Second, func(int64) int64 { return 0 }); d != 0 {
		t.Fatalf("jitter floor = %v, want 0", d)
	}
	if d := backoff(1000, time.Second, time.Minute, top); d != time.Minute-1 {
		t.Fatalf("huge attempt = %v, want capped", d)
	}
}

func TestPoolSendsAndStats(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	rec := newRecorder()
	cfg := PoolConfig{Name: "api", Size: 3, Conn: fastConfig(srv.url())}
	cfg.Conn.Handler = rec
	p := startPool(t, cfg, Env{}, supervisor.Env{})
	for range 3 {
		rec.expect(t, ctx, "connected")
	}
	if err := p.Subscribe(TextMessage("hello")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rec.expect(t, ctx, "message", "hello")
	}
	for i := range 6 {
		if err := p.Send(ctx, "", TextMessage(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	per := map[string]int{}
	for range 6 {
		per[rec.expect(t, ctx, "message").conn]++
	}
	if per["api/conn/0"] != 2 || per["api/conn/1"] != 2 || per["api/conn/2"] != 2 {
		t.Fatalf("round robin spread = %v", per)
	}
	st := p.Stats()
	if st.Size != 3 || st.Open != 3 || st.Total.Sent != 9 || st.Total.Received != 9 || len(st.Conns) != 3 {
		t.Fatalf("pool stats = %+v", st)
	}
}

// Against a chat server every connection of the pool hears what one of
// them says.
func TestPoolAgainstChatServer(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	srv.chat = true
	rec := newRecorder()
	cfg := PoolConfig{Name: "room", Size: 3, Conn: fastConfig(srv.url())}
	cfg.Conn.Handler = rec
	p := startPool(t, cfg, Env{}, supervisor.Env{})
	for range 3 {
		rec.expect(t, ctx, "connected")
	}
	for range 3 {
		srv.waitAccepted(ctx) // all registered: the broadcast reaches all three
	}
	if err := p.Send(ctx, "alice", TextMessage("hi all")); err != nil {
		t.Fatal(err)
	}
	heard := map[string]bool{}
	for range 3 {
		heard[rec.expect(t, ctx, "message", "hi all").conn] = true
	}
	if len(heard) != 3 {
		t.Fatalf("heard on %v, want all three connections", heard)
	}
}

// Under an all-for-one supervisor the sibling of a panicking connection is
// restarted too. As in OTP, the supervisor stops the siblings and starts
// them anew (package supervisor), so the sibling's session ends as a stop
// (ErrClosed) and its new actor redials on the same handle.
func TestAllForOneSiblingIsRestartedToo(t *testing.T) {
	ctx := testCtx(t)
	srv := startServer(t)
	rec := newRecorder()
	rec.onMessage = func(_ *Conn, m Message) {
		if string(m.Data) == "boom" {
			panic("boom")
		}
	}
	cfg := PoolConfig{Name: "afo", Size: 2, Conn: fastConfig(srv.url()),
		Supervisor: supervisor.Config{Strategy: supervisor.AllForOne}}
	cfg.Conn.Handler = rec
	p := startPool(t, cfg, Env{}, supervisor.Env{})
	rec.expect(t, ctx, "connected")
	rec.expect(t, ctx, "connected")
	if err := p.Conns()[0].SendText(ctx, "boom"); err != nil {
		t.Fatal(err)
	}
	got := map[string]error{}
	for len(got) < 2 {
		c := rec.next(t, ctx)
		if c.kind == "disconnected" {
			got[c.conn] = c.err
		}
	}
	if !errors.Is(got["afo/conn/0"], ErrHandlerPanic) || !errors.Is(got["afo/conn/1"], ErrClosed) {
		t.Fatalf("disconnects = %v, want the panic on conn/0 and a stop (ErrClosed) on conn/1", got)
	}
	waitUntil(t, ctx, func() bool {
		return p.Conns()[0].Stats().Connects == 2 && p.Conns()[1].Stats().Connects == 2
	})
}
