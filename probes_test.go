package vsm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/memory"
)

var errPing = errors.New("ping refused")

// pingFails is a store whose PING fails: the readiness check of a node
// without the Redis health breaker pings the store.
type pingFails struct{ state.Store }

func (pingFails) Ping(context.Context) error { return errPing }

func checkNames(cs []vsm.ReadinessCheck) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, ",")
}

func runCheck(t *testing.T, n *vsm.Node, name string) error {
	t.Helper()
	for _, c := range n.ReadinessChecks() {
		if c.Name == name {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return c.Check(ctx)
		}
	}
	t.Fatalf("no readiness check %q in %s", name, checkNames(n.ReadinessChecks()))
	return nil
}

func TestReadinessChecks(t *testing.T) {
	cfg, err := config.Parse("vsm.yaml", []byte(`
admin:
  readiness:
    redis: true
    breakers: [api]
circuit_breakers:
  api: {}
  db: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.New()
	defer mem.Close()
	n := startWith(t, cfg, vsm.WithStore(pingFails{mem}))
	if got := checkNames(n.ReadinessChecks()); got != "shutdown,redis,breaker/api" {
		t.Fatalf("checks = %s", got)
	}
	if err := runCheck(t, n, "shutdown"); err != nil {
		t.Errorf("shutdown = %v", err)
	}
	// No "redis" breaker (the store was given): the check pings.
	if err := runCheck(t, n, "redis"); !errors.Is(err, vsm.ErrNotReady) || !errors.Is(err, errPing) {
		t.Errorf("redis = %v, want ErrNotReady wrapping the ping error", err)
	}
	if err := runCheck(t, n, "breaker/api"); err != nil {
		t.Errorf("breaker/api closed = %v", err)
	}
	api, _ := n.Breaker("api")
	api.Open()
	if err := runCheck(t, n, "breaker/api"); !errors.Is(err, vsm.ErrNotReady) || err.Error() != `vsm: not ready: breaker "api" is open` {
		t.Errorf("breaker/api open = %v", err)
	}
	api.Close()
	if err := runCheck(t, n, "breaker/api"); err != nil {
		t.Errorf("breaker/api closed again = %v", err)
	}

	errDB := errors.New("db down")
	if err := n.AddReadinessCheck("db", func(context.Context) error { return errDB }); err != nil {
		t.Fatal(err)
	}
	for _, dup := range []string{"db", "redis", "breaker/api", vsm.ShutdownCheck} {
		if err := n.AddReadinessCheck(dup, func(context.Context) error { return nil }); !errors.Is(err, vsm.ErrCheckExists) {
			t.Errorf("AddReadinessCheck(%q) = %v, want ErrCheckExists", dup, err)
		}
	}
	if got := checkNames(n.ReadinessChecks()); got != "shutdown,redis,breaker/api,db" {
		t.Fatalf("checks = %s", got)
	}
	if err := runCheck(t, n, "db"); err != errDB {
		t.Errorf("db = %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n.Stopping() {
		t.Fatal("Stopping before Stop")
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if !n.Stopping() {
		t.Fatal("not Stopping after Stop")
	}
	if err := runCheck(t, n, "shutdown"); !errors.Is(err, vsm.ErrNotReady) {
		t.Errorf("shutdown after Stop = %v", err)
	}
	if err := n.AddReadinessCheck("late", func(context.Context) error { return nil }); !errors.Is(err, vsm.ErrStopped) {
		t.Errorf("AddReadinessCheck after Stop = %v", err)
	}
}

// TestStoppingBeforeAnyPartStops: readiness fails from the start of Stop,
// while the node's parts still run (user actors are the first stopped).
func TestStoppingBeforeAnyPartStops(t *testing.T) {
	n := startWith(t, nil)
	seen := make(chan error, 1)
	props := actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Stopping); ok {
			seen <- runCheck(t, n, vsm.ShutdownCheck)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.Spawn(ctx, "watcher", props); err != nil {
		t.Fatal(err)
	}
	if err := runCheck(t, n, vsm.ShutdownCheck); err != nil {
		t.Fatalf("shutdown check before Stop = %v", err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- n.Stop(ctx) }()
	select {
	case err := <-seen:
		if !errors.Is(err, vsm.ErrNotReady) {
			t.Fatalf("shutdown check while the first actor stops = %v, want ErrNotReady", err)
		}
	case <-ctx.Done():
		t.Fatal("the user actor never stopped")
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// TestStartRefusesPoolWithoutAdapter: such a pool used to be skipped.
func TestStartRefusesPoolWithoutAdapter(t *testing.T) {
	cfg := &config.Config{Pools: map[string]config.Pool{
		"ok":    {Host: "127.0.0.1", Port: 1},
		"cache": {Protocol: config.ProtocolRedis, Host: "127.0.0.1", Port: 1},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := vsm.Start(ctx, cfg)
	if err == nil {
		_ = n.Stop(ctx)
		t.Fatal("Start accepted a redis pool, which has no adapter")
	}
	if !errors.Is(err, config.ErrInvalid) || err.Error() != "pools.cache.protocol: protocol redis has no adapter yet; a pool can use http, websocket, grpc" {
		t.Fatalf("Start = %v", err)
	}
}

func families(t *testing.T, reg *prometheus.Registry) map[string]bool {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, mf := range mfs {
		out[mf.GetName()] = true
	}
	return out
}

// TestRuntimeMetrics: the node's own registry serves go_* and process_*;
// a registry passed in is left to its owner for those, so one that has them
// already does not clash.
func TestRuntimeMetrics(t *testing.T) {
	n := startWith(t, nil)
	have := families(t, n.Registry())
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_open_fds"} {
		if !have[name] {
			t.Errorf("node registry lacks %s", name)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsGC)))
	own := startWith(t, nil, vsm.WithRegistry(reg))
	have = families(t, own.Registry())
	if !have["go_goroutines"] || have["process_cpu_seconds_total"] {
		t.Errorf("user registry: go_goroutines %v, process_cpu_seconds_total %v; want the owner's collectors only",
			have["go_goroutines"], have["process_cpu_seconds_total"])
	}
}

// TestAlertLaneMetrics: the node serves its alert lane's backlog and drops,
// both 0 on a running node; a registry that already holds them makes
// Start fail with the clash, leaving nothing running (goleak checks).
func TestAlertLaneMetrics(t *testing.T) {
	n := startWith(t, nil)
	mfs, err := n.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[mf.GetName()] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	for _, name := range []string{"vsm_alert_lane_queued", "vsm_alert_lane_dropped_total"} {
		if v, ok := got[name]; !ok || v != 0 {
			t.Errorf("%s = %v (present %v), want 0", name, v, ok)
		}
	}

	taken := prometheus.NewRegistry()
	taken.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "vsm_alert_lane_queued", Help: "someone else's"}))
	if _, err := vsm.Start(context.Background(), nil, vsm.WithRegistry(taken)); err == nil || !strings.Contains(err.Error(), "vsm: metrics") {
		t.Fatalf("Start on a registry holding vsm_alert_lane_queued: err = %v, want the metrics clash", err)
	}
}
