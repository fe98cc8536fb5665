package ws

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// recorder is a Handler that puts every call on one channel, in order.
type recorder struct {
	calls chan call
	// onMessage, when set, runs before the call is recorded.
	onMessage func(c *Conn, m Message)
}

type call struct {
	kind string // "connected", "message", "disconnected"
	conn string
	ep   string
	msg  Message
	err  error
}

func newRecorder() *recorder { return &recorder{calls: make(chan call, 1<<16)} }

func (r *recorder) Connected(c *Conn, ep string) {
	r.calls <- call{kind: "connected", conn: c.Name(), ep: ep}
}

func (r *recorder) Message(c *Conn, m Message) {
	if r.onMessage != nil {
		r.onMessage(c, m)
	}
	r.calls <- call{kind: "message", conn: c.Name(), msg: m}
}

func (r *recorder) Disconnected(c *Conn, err error) {
	r.calls <- call{kind: "disconnected", conn: c.Name(), err: err}
}

func (r *recorder) next(t testing.TB, ctx context.Context) call {
	t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-ctx.Done():
		t.Fatalf("handler: no call: %v", ctx.Err())
		return call{}
	}
}

// expect waits for the next call and checks its kind (and, for messages,
// its text).
func (r *recorder) expect(t testing.TB, ctx context.Context, kind string, text ...string) call {
	t.Helper()
	c := r.next(t, ctx)
	if c.kind != kind {
		t.Fatalf("handler call = %s (%v, %d bytes %.40q), want %s", c.kind, c.err, len(c.msg.Data), c.msg.Data, kind)
	}
	if len(text) > 0 && string(c.msg.Data) != text[0] {
		t.Fatalf("message = %q, want %q", c.msg.Data, text[0])
	}
	return c
}

// events collects this package's events (and supervisor restarts) from a
// system's stream.
type events struct {
	ch  chan event.Event
	sub *event.Subscription
}

func collect(t testing.TB, sys *actor.ActorSystem) *events {
	e := &events{ch: make(chan event.Event, 1<<14)}
	e.sub = event.Subscribe(sys.EventStream, func(ev event.Event) { e.ch <- ev }, event.WithBuffer(1<<14))
	t.Cleanup(func() { e.sub.Cancel(); e.sub.Wait() })
	return e
}

// waitFor returns the next event for which match is true, skipping others.
func (e *events) waitFor(t testing.TB, ctx context.Context, what string, match func(event.Event) bool) event.Event {
	t.Helper()
	for {
		select {
		case ev := <-e.ch:
			if match(ev) {
				return ev
			}
		case <-ctx.Done():
			t.Fatalf("no %s event: %v", what, ctx.Err())
			return nil
		}
	}
}

// raiser records alerts.
type raiser struct {
	mu     sync.Mutex
	alerts []string
	ch     chan string
}

func newRaiser() *raiser { return &raiser{ch: make(chan string, 64)} }

func (r *raiser) Raise(sev algedonic.Severity, source, reason string) {
	s := fmt.Sprintf("%s|%s|%s", sev, source, reason)
	r.mu.Lock()
	r.alerts = append(r.alerts, s)
	r.mu.Unlock()
	r.ch <- s
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fastConfig reconnects quickly and never waits long in tests.
func fastConfig(endpoints ...string) Config {
	return Config{
		Endpoints:      endpoints,
		BackoffInitial: 5 * time.Millisecond,
		BackoffMax:     20 * time.Millisecond,
		DialTimeout:    2 * time.Second,
		CloseTimeout:   time.Second,
	}
}

// spawn makes a Conn, spawns its actor on a fresh system and closes both
// at cleanup.
func spawn(t testing.TB, sys *actor.ActorSystem, name string, cfg Config, env Env) *Conn {
	t.Helper()
	if sys == nil {
		sys = actortest.NewSystem(t)
	}
	c, err := New(name, cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Spawn(sys.Root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close %s: %v", name, err)
		}
	})
	return c
}

// fakeClock is the queue-deadline clock of tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}
