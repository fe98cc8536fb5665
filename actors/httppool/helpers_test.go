package httppool

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/vsmtest"
)

const waitFor = 10 * time.Second

func bg(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

func addrOf(s *vsmtest.MockService) string { return s.Addr() }

// fastRetry keeps retries quick and deterministic in tests.
var fastRetry = []fault.Option{fault.BaseDelay(time.Millisecond), fault.MaxDelay(2 * time.Millisecond), fault.WithJitter(fault.NoJitter)}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	if cfg.Retry == nil {
		cfg.Retry = fastRetry
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func spawn(t *testing.T, sys *actor.ActorSystem, props *actor.Props) *actor.PID {
	t.Helper()
	pid := sys.Root.Spawn(props)
	t.Cleanup(func() { sys.Root.StopFuture(pid).Wait() })
	return pid
}

// fakeSleep records retry delays and returns at once.
type fakeSleep struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (f *fakeSleep) Now() time.Time { return time.Now() }
func (f *fakeSleep) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.delays = append(f.delays, d)
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeSleep) got() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.delays...)
}

// fakeClock is a breaker clock moved by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func hostOf(raw string) string {
	u, _ := url.Parse(raw)
	return u.Host
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
