package vsm_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/health"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/supervisor"
)

func parseConfig(t *testing.T, src string) *vsm.Config {
	t.Helper()
	cfg, err := config.Parse("vsm.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func waitHealthy(t *testing.T, n *vsm.Node, name string) {
	t.Helper()
	poll(t, func() bool { s, _ := n.HealthStatus(name); return s.Status == health.Healthy })
}

// When the pool's check turns unhealthy S3 opens the pool's breaker, with
// a control.action saying why, and closes it when the check recovers.
func TestHealthPolicyOpensAndClosesTheBreaker(t *testing.T) {
	srv := newFlakyServer(t)
	n := startNode(t, parseConfig(t, `
circuit_breakers:
  api: {}
pools:
  api: {endpoints: ['`+strings.TrimPrefix(srv.URL, "http://")+`'], circuit_breaker: api}
health_checks:
  web: {url: '`+srv.URL+`/health', interval: 1h, jitter_percent: -1, unhealthy_threshold: 1}
control:
  health_policies:
    - {check: web, pool: api, on_unhealthy: open_breaker}
`))
	actions := collect[*event.ControlAction](t, n)
	states := collect[*event.BreakerStateChanged](t, n)
	waitHealthy(t, n, "web")
	b, _ := n.Breaker("api")

	srv.status.Store(http.StatusServiceUnavailable)
	checkNow(t, n, "web")
	a := recv(t, actions)
	if a.Action != "open_breaker" || a.Target != "breaker/api" || a.Err != "" ||
		a.Reason != "health check web is unhealthy: HTTP status 503, want 2xx" {
		t.Fatalf("control.action = %+v", a)
	}
	if s := recv(t, states); s.Name != "s1/breaker/api" || s.To != "open" || s.Reason != "manual_open" || !s.Forced || b.State() != breaker.Open {
		t.Fatalf("breaker event %+v, state %v", s, b.State())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := n.Request(ctx, httppool.Request{Pool: "api", URL: "/"}); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("request while S3 holds the breaker open = %v, want ErrOpen", err)
	}

	srv.status.Store(http.StatusOK)
	checkNow(t, n, "web")
	a = recv(t, actions)
	if a.Action != "close_breaker" || a.Target != "breaker/api" || a.Reason != "health check web is healthy: probe succeeded" {
		t.Fatalf("control.action = %+v", a)
	}
	if s := recv(t, states); s.To != "closed" || b.State() != breaker.Closed {
		t.Fatalf("breaker event %+v, state %v", s, b.State())
	}
	if got := drainActions(t, n, actions); len(got) != 0 {
		t.Fatalf("extra control.action %+v", got)
	}
}

// eject_endpoint holds the checked endpoint out of the pool's balancer
// while its check is unhealthy, and puts it back on recovery.
func TestHealthPolicyEjectsAndRestoresTheEndpoint(t *testing.T) {
	sick := newFlakyServer(t)
	var hits [2]atomic.Int32
	mk := func(i int) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits[i].Add(1) }))
		t.Cleanup(s.Close)
		return s
	}
	a, b := mk(0), mk(1)
	addrA, addrB := strings.TrimPrefix(a.URL, "http://"), strings.TrimPrefix(b.URL, "http://")
	// The check of A probes another server: the test decides A's health.
	n := startNode(t, parseConfig(t, `
pools:
  api: {endpoints: ['`+addrA+`', '`+addrB+`']}
health_checks:
  a: {url: '`+sick.URL+`/health', interval: 1h, jitter_percent: -1, unhealthy_threshold: 1}
control:
  health_policies:
    - {check: a, pool: api, on_unhealthy: eject_endpoint, endpoint: '`+addrA+`'}
`))
	actions := collect[*event.ControlAction](t, n)
	waitHealthy(t, n, "a")
	sick.status.Store(http.StatusInternalServerError)
	checkNow(t, n, "a")
	ev := recv(t, actions)
	if ev.Action != "eject_endpoint" || ev.Target != "pool/api/"+addrA || ev.Err != "" || ev.Reason != "health check a is unhealthy: HTTP status 500, want 2xx" {
		t.Fatalf("control.action = %+v", ev)
	}
	p, _ := n.Pool("api")
	if eps := p.Stats().Endpoints; len(eps) != 2 || !eps[0].Held || eps[1].Held {
		t.Fatalf("endpoints = %+v", eps)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 4 {
		if _, err := n.Request(ctx, httppool.Request{Pool: "api", URL: "/"}); err != nil {
			t.Fatal(err)
		}
	}
	if hits[0].Load() != 0 || hits[1].Load() != 4 {
		t.Fatalf("hits while A is ejected: A %d, B %d", hits[0].Load(), hits[1].Load())
	}
	sick.status.Store(http.StatusOK)
	checkNow(t, n, "a")
	ev = recv(t, actions)
	if ev.Action != "restore_endpoint" || ev.Target != "pool/api/"+addrA || ev.Reason != "health check a is healthy: probe succeeded" {
		t.Fatalf("control.action = %+v", ev)
	}
	for range 4 {
		if _, err := n.Request(ctx, httppool.Request{Pool: "api", URL: "/"}); err != nil {
			t.Fatal(err)
		}
	}
	if hits[0].Load() != 2 || hits[1].Load() != 6 {
		t.Fatalf("hits after restore: A %d, B %d", hits[0].Load(), hits[1].Load())
	}
}

// fakeClock hands its timers to the test, which fires them.
type fakeClock struct {
	mu     sync.Mutex
	armed  chan time.Duration
	timers []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped atomic.Bool
}

func (t *fakeTimer) Stop() bool { return !t.stopped.Swap(true) }

func newFakeClock() *fakeClock { return &fakeClock{armed: make(chan time.Duration, 64)} }

func (c *fakeClock) Now() time.Time { return time.Unix(0, 0) }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) health.Timer {
	t := &fakeTimer{d: d, f: f}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	c.armed <- d
	return t
}

// fire runs the latest timer armed for d.
func (c *fakeClock) fire(d time.Duration) {
	c.mu.Lock()
	var t *fakeTimer
	for i := len(c.timers) - 1; i >= 0 && t == nil; i-- {
		if c.timers[i].d == d {
			t = c.timers[i]
		}
	}
	c.mu.Unlock()
	if !t.stopped.Swap(true) {
		t.f()
	}
}

// armedFor waits until a timer is armed for d, skipping the others.
func (c *fakeClock) armedFor(t *testing.T, d time.Duration) {
	t.Helper()
	for recv(t, c.armed) != d {
	}
}

// The S3* audit finds a breaker handle whose actor is gone: a Warning from
// s3/audit and a control.action, once.
func TestAuditReportsAUnitWhoseActorIsGone(t *testing.T) {
	clk := newFakeClock()
	n := startWith(t, parseConfig(t, "circuit_breakers:\n  api: {}\ncontrol:\n  audit_interval: 7s\n"), vsm.WithControlClock(clk))
	actions := collect[*event.ControlAction](t, n)
	alerts := collect[*event.AlertRaised](t, n)
	if d := recv(t, clk.armed); d != 7*time.Second {
		t.Fatalf("audit armed for %v, want 7s", d)
	}
	clk.fire(7 * time.Second) // all agree: nothing to report
	clk.armedFor(t, 7*time.Second)

	s1, _ := n.Lookup("s1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := supervisor.Stop(ctx, n.Root(), s1, "breaker/api"); err != nil {
		t.Fatal(err)
	}
	clk.fire(7 * time.Second)
	a := recv(t, actions)
	const why = "the breaker's handle is in use but its actor s1/breaker/api is not running"
	if a.Action != "audit" || a.Target != "breaker/api" || a.Reason != why {
		t.Fatalf("control.action = %+v", a)
	}
	al := waitFor(t, alerts, "audit alert", func(al *event.AlertRaised) bool { return al.Source == "s3/audit" })
	if al.Severity != "warning" || al.Reason != "breaker/api: "+why {
		t.Fatalf("alert = %+v", al)
	}
	clk.armedFor(t, 7*time.Second)
	clk.fire(7 * time.Second) // the same finding is not reported again
	clk.armedFor(t, 7*time.Second)
	if got := drainActions(t, n, actions); len(got) != 0 {
		t.Fatalf("finding reported twice: %+v", got)
	}
}

// drainActions returns the control.action events published so far: it
// publishes a marker, which the subscription delivers after them.
func drainActions(t *testing.T, n *vsm.Node, actions <-chan *event.ControlAction) []*event.ControlAction {
	t.Helper()
	n.ActorSystem().EventStream.Publish(&event.ControlAction{Action: "marker"})
	var out []*event.ControlAction
	for {
		a := recv(t, actions)
		if a.Action == "marker" {
			return out
		}
		out = append(out, a)
	}
}

// With S1 as a whole down (as while the node stops: S1 stops before S3)
// the audit reports nothing.
func TestAuditIsQuietWhileS1IsDown(t *testing.T) {
	clk := newFakeClock()
	n := startWith(t, parseConfig(t, "circuit_breakers:\n  api: {}\n"), vsm.WithControlClock(clk))
	actions := collect[*event.ControlAction](t, n)
	clk.armedFor(t, config.DefaultAuditInterval)
	root, _ := n.Lookup("")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := supervisor.Stop(ctx, n.Root(), root, "s1"); err != nil {
		t.Fatal(err)
	}
	clk.fire(config.DefaultAuditInterval)
	clk.armedFor(t, config.DefaultAuditInterval)
	if got := drainActions(t, n, actions); len(got) != 0 {
		t.Fatalf("audit with S1 down reported %+v", got)
	}
}

// The audit compares a pool's size with the one S3 last set: a resize that
// bypassed S3 is a disagreement, reported once, and its end is reported
// too (audit_resolved, an Info).
func TestAuditComparesPoolSizeWithS3s(t *testing.T) {
	clk := newFakeClock()
	srv := newFlakyServer(t)
	n := startWith(t, parseConfig(t, "pools:\n  api: {endpoints: ['"+strings.TrimPrefix(srv.URL, "http://")+"'], size: 4}\n"), vsm.WithControlClock(clk))
	actions := collect[*event.ControlAction](t, n)
	alerts := collect[*event.AlertRaised](t, n)
	clk.armedFor(t, config.DefaultAuditInterval)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := n.Control().Resize(ctx, "api", 3); err != nil {
		t.Fatal(err)
	}
	clk.fire(config.DefaultAuditInterval) // size 3, as S3 set it
	clk.armedFor(t, config.DefaultAuditInterval)

	p, _ := n.Pool("api")
	pid, _ := p.PID()
	if _, err := httppool.Resize(ctx, n.Root(), pid, 5); err != nil { // behind S3's back
		t.Fatal(err)
	}
	clk.fire(config.DefaultAuditInterval)
	a := recv(t, actions)
	if a.Action != "audit" || a.Target != "pool/api" || a.Reason != "the pool's handle has size 5, S3 last set 3" {
		t.Fatalf("control.action = %+v", a)
	}
	if al := waitFor(t, alerts, "audit alert", func(al *event.AlertRaised) bool { return al.Source == "s3/audit" }); al.Severity != "warning" {
		t.Fatalf("alert = %+v", al)
	}
	clk.armedFor(t, config.DefaultAuditInterval)

	if _, err := n.Control().Resize(ctx, "api", 5); err != nil {
		t.Fatal(err)
	}
	clk.fire(config.DefaultAuditInterval)
	a = recv(t, actions)
	if a.Action != "audit_resolved" || a.Target != "pool/api" || a.Reason != "actor and handle agree again (was: the pool's handle has size 5, S3 last set 3)" {
		t.Fatalf("control.action = %+v", a)
	}
	if al := waitFor(t, alerts, "audit alert", func(al *event.AlertRaised) bool { return al.Source == "s3/audit" }); al.Severity != "info" || al.Reason != "pool/api: actor and handle agree again" {
		t.Fatalf("alert = %+v", al)
	}
}

// The autoscaler grows a busy pool through S3 and shrinks it back once it
// is idle, within [min, max], each step a control.action with its reason.
func TestAutoscaleGrowsAndShrinksAPool(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	clk := newFakeClock()
	n := startWith(t, parseConfig(t, `
pools:
  api: {endpoints: ['`+strings.TrimPrefix(srv.URL, "http://")+`'], size: 2}
control:
  audit_interval: 1h
  autoscale_interval: 3s
  autoscale:
    - {pool: api, min: 2, max: 4}
`), vsm.WithControlClock(clk))
	actions := collect[*event.ControlAction](t, n)
	clk.armedFor(t, 3*time.Second)
	clk.fire(3 * time.Second) // the first review only takes the baseline
	clk.armedFor(t, 3*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = n.Request(ctx, httppool.Request{Pool: "api", URL: "/"})
		}()
	}
	recv(t, entered)
	recv(t, entered)
	clk.fire(3 * time.Second)
	a := recv(t, actions)
	if a.Action != "scale_up" || a.Target != "pool/api" || a.Err != "" || a.Reason != "size 2 -> 3: utilisation 100% (2/2 in use) >= 80%" {
		t.Fatalf("control.action = %+v", a)
	}
	p, _ := n.Pool("api")
	if got := p.Stats().Size; got != 3 {
		t.Fatalf("size after scale_up = %d", got)
	}
	clk.armedFor(t, 3*time.Second)

	close(release)
	wg.Wait()
	clk.fire(3 * time.Second)
	a = recv(t, actions)
	if a.Action != "scale_down" || a.Reason != "size 3 -> 2: utilisation 0% (0/3 in use) <= 30% and nobody waited" {
		t.Fatalf("control.action = %+v", a)
	}
	if got := p.Stats().Size; got != 2 {
		t.Fatalf("size after scale_down = %d", got)
	}
}
