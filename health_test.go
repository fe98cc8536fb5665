package vsm_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/health"
	"github.com/viable-systems/vsm-connections/config"
)

// flakyServer is a loopback HTTP server answering its current status.
type flakyServer struct {
	*httptest.Server
	status atomic.Int32
}

func newFlakyServer(t *testing.T) *flakyServer {
	t.Helper()
	s := &flakyServer{}
	s.status.Store(http.StatusOK)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(s.status.Load()))
	}))
	t.Cleanup(s.Close)
	return s
}

// tcpListener accepts and closes connections on loopback.
func tcpListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

// healthNode starts a node with an http check "web" on srv (listed in
// admin.readiness.health_checks) and a tcp check "db" on addr (readiness:
// true), both probed once at start and then only on demand (1h interval),
// turning unhealthy on the first failure.
func healthNode(t *testing.T, srv, addr string) *vsm.Node {
	t.Helper()
	cfg, err := config.Parse("vsm.yaml", []byte(`
admin:
  readiness:
    health_checks: [web]
health_checks:
  web: {url: '`+srv+`/health', interval: 1h, jitter_percent: -1, unhealthy_threshold: 1}
  db: {type: tcp, address: '`+addr+`', interval: 1h, jitter_percent: -1, readiness: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, cfg)
	// The first probe of each runs at once.
	poll(t, func() bool {
		w, _ := n.HealthStatus("web")
		d, _ := n.HealthStatus("db")
		return w.Status == health.Healthy && d.Status == health.Healthy
	})
	return n
}

func checkNow(t *testing.T, n *vsm.Node, name string) health.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := n.Check(ctx, name)
	if err != nil {
		t.Fatalf("Check(%s): %v", name, err)
	}
	return r
}

// Every health_checks entry runs as a checker under s4/check, and the node's
// Go API probes and reads them.
func TestConfiguredChecksRunUnderS4(t *testing.T) {
	srv := newFlakyServer(t)
	n := healthNode(t, srv.URL, tcpListener(t))
	for _, name := range []string{"s4/check", "s4/check/web", "s4/check/db"} {
		if _, ok := n.Lookup(name); !ok {
			t.Errorf("no actor %s in %v", name, names(n.Tree()))
		}
	}
	if got := slices.Sorted(func(yield func(string) bool) {
		for k := range n.AllHealth() {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(got, []string{"db", "web"}) {
		t.Fatalf("AllHealth names = %v", got)
	}

	srv.status.Store(http.StatusServiceUnavailable)
	r := checkNow(t, n, "web")
	if r.Healthy || !errors.Is(r.Err, health.ErrStatus) || r.Status != health.Unhealthy {
		t.Fatalf("Check(web) on 503 = %+v, want unhealthy with ErrStatus", r)
	}
	st, ok := n.HealthStatus("web")
	if !ok || st.Status != health.Unhealthy || st.Successes != 1 || st.Failures != 1 || st.Kind != health.KindHTTP {
		t.Fatalf("HealthStatus(web) = %+v", st)
	}
	srv.status.Store(http.StatusOK)
	if r := checkNow(t, n, "web"); !r.Healthy || r.Status != health.Healthy {
		t.Fatalf("Check(web) on 200 = %+v", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := n.Check(ctx, "nope"); !errors.Is(err, health.ErrUnknownCheck) {
		t.Fatalf("Check(nope) = %v, want ErrUnknownCheck", err)
	}
}

// RegisterCheck adds a custom check as s4/check/<name>; Check runs it.
func TestRegisterCheck(t *testing.T) {
	n := startNode(t, nil)
	var calls atomic.Int32
	errDown := errors.New("down")
	fail := atomic.Bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.RegisterCheck(ctx, "custom", func(context.Context) error {
		calls.Add(1)
		if fail.Load() {
			return errDown
		}
		return nil
	}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.Lookup("s4/check/custom"); !ok {
		t.Fatalf("no s4/check/custom in %v", names(n.Tree()))
	}
	// A custom check's first probe waits up to 10% of its interval: ask.
	if r := checkNow(t, n, "custom"); !r.Healthy || r.Status != health.Healthy {
		t.Fatalf("Check(custom) = %+v", r)
	}
	fail.Store(true)
	// One failure is below the default unhealthy threshold (3).
	if r := checkNow(t, n, "custom"); r.Healthy || !errors.Is(r.Err, errDown) || r.Status != health.Healthy {
		t.Fatalf("Check(custom) = %+v", r)
	}
	if st, _ := n.HealthStatus("custom"); st.Failures != 1 || st.Kind != health.KindCustom || uint64(calls.Load()) != st.Successes+st.Failures {
		t.Fatalf("HealthStatus(custom) = %+v after %d calls", st, calls.Load())
	}
	if err := n.RegisterCheck(ctx, "custom", func(context.Context) error { return nil }, 0); !errors.Is(err, health.ErrExists) {
		t.Fatalf("RegisterCheck twice = %v, want ErrExists", err)
	}
	if _, ok := n.HealthStatus("custom"); !ok || n.Health() == nil {
		t.Fatal("HealthStatus(custom) not found")
	}
}

// A check joins /readyz through admin.readiness.health_checks or
// readiness: true, and fails it exactly while it is not healthy.
func TestHealthChecksJoinReadiness(t *testing.T) {
	srv := newFlakyServer(t)
	n := healthNode(t, srv.URL, tcpListener(t))
	if got, want := checkNames(n.ReadinessChecks()), "shutdown,health/web,health/db"; got != want {
		t.Fatalf("readiness checks = %s, want %s", got, want)
	}
	if err := runCheck(t, n, "health/web"); err != nil {
		t.Fatalf("health/web while healthy: %v", err)
	}
	srv.status.Store(http.StatusInternalServerError)
	checkNow(t, n, "web")
	err := runCheck(t, n, "health/web")
	if !errors.Is(err, vsm.ErrNotReady) || err.Error() != `vsm: not ready: health check "web" is unhealthy` {
		t.Fatalf("health/web while unhealthy = %v", err)
	}
	if err := runCheck(t, n, "health/db"); err != nil {
		t.Fatalf("health/db: %v", err)
	}
	srv.status.Store(http.StatusOK)
	checkNow(t, n, "web")
	if err := runCheck(t, n, "health/web"); err != nil {
		t.Fatalf("health/web after recovery: %v", err)
	}
}

// The node exports each check's results and latency from its snapshots.
func TestHealthMetrics(t *testing.T) {
	srv := newFlakyServer(t)
	reg := prometheus.NewRegistry()
	cfg, err := config.Parse("vsm.yaml", []byte(`
health_checks:
  web: {url: '`+srv.URL+`/health', interval: 1h, jitter_percent: -1, unhealthy_threshold: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	n := startWith(t, cfg, vsm.WithRegistry(reg))
	poll(t, func() bool { s, _ := n.HealthStatus("web"); return s.Successes == 1 })
	srv.status.Store(http.StatusBadGateway)
	checkNow(t, n, "web")
	checkNow(t, n, "web")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	for k, v := range map[string]float64{
		"vsm_health_status,check=web,kind=http":            2,
		"vsm_health_checks_total,check=web,result=success": 1,
		"vsm_health_checks_total,check=web,result=failure": 2,
		"vsm_health_check_duration_seconds,check=web":      3,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

// The health API on a Node that Start did not return, and after Stop.
func TestHealthAPIOutsideTheNodesLife(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var zero vsm.Node
	if _, err := zero.Check(ctx, "x"); !errors.Is(err, vsm.ErrNotStarted) {
		t.Fatalf("Check on a zero Node = %v", err)
	}
	if err := zero.RegisterCheck(ctx, "x", func(context.Context) error { return nil }, 0); !errors.Is(err, vsm.ErrNotStarted) {
		t.Fatalf("RegisterCheck on a zero Node = %v", err)
	}
	if _, ok := zero.HealthStatus("x"); ok || len(zero.AllHealth()) != 0 || zero.Health() != nil {
		t.Fatal("a zero Node has health checks")
	}
	n, err := vsm.Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Check(ctx, "x"); !errors.Is(err, vsm.ErrStopped) {
		t.Fatalf("Check after Stop = %v", err)
	}
	if err := n.RegisterCheck(ctx, "x", func(context.Context) error { return nil }, 0); !errors.Is(err, vsm.ErrStopped) {
		t.Fatalf("RegisterCheck after Stop = %v", err)
	}
}

// A redis check pings the node's own state backend (in-process here).
func TestRedisCheckPingsTheNodesStore(t *testing.T) {
	n := startNode(t, parseConfig(t, "health_checks:\n  cache: {type: redis, interval: 1h, jitter_percent: -1}\n"))
	r := checkNow(t, n, "cache")
	st, _ := n.HealthStatus("cache")
	if !r.Healthy || r.Err != nil || st.Kind != health.KindRedis || st.Target != "redis" || st.Status != health.Healthy {
		t.Fatalf("Check(cache) = %+v, status %+v", r, st)
	}
}
