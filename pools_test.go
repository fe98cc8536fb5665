package vsm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/vsmtest"
)

func poolConfig(t *testing.T, yaml string) *vsm.Config {
	t.Helper()
	cfg, err := config.Parse("pools.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A pool configured in YAML reaches a real server through the node's Go
// API, guarded by its breaker, and shows in the tree, stats, events and
// metrics.
func TestConfiguredPoolReachesRealServer(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	if err := svc.RespondJSON("GET /users/1", 200, map[string]string{"name": "ada"}); err != nil {
		t.Fatal(err)
	}
	svc.RespondTo("POST /users", 201, `{"id":2}`, nil)
	host, port, _ := strings.Cut(svc.Addr(), ":")
	n := startNode(t, poolConfig(t, fmt.Sprintf(`
circuit_breakers:
  api: {failure_threshold: 2, recovery_timeout: 1h}
pools:
  api:
    host: %s
    port: %s
    size: 3
    circuit_breaker: api
    request_events: true
`, host, port)))
	if !slices.Contains(names(n.Tree()), "s1/pool/api") {
		t.Fatalf("tree %v lacks s1/pool/api", names(n.Tree()))
	}
	reqs := collect[*event.AdapterRequest](t, n)
	ctx := context.Background()

	resp, err := n.Get(ctx, "api", "/users/1")
	if err != nil {
		t.Fatal(err)
	}
	var u struct{ Name string }
	if err := resp.JSON(&u); err != nil || u.Name != "ada" {
		t.Fatalf("%+v %v", u, err)
	}
	if ev := recv(t, reqs); ev.Pool != "api" || ev.Status != 200 || ev.Method != "GET" || ev.Endpoint != svc.Addr() {
		t.Fatalf("event %+v", ev)
	}

	resp, err = n.Post(ctx, "api", "/users", map[string]string{"name": "bob"})
	if err != nil || resp.Status != 201 {
		t.Fatalf("post %+v %v", resp, err)
	}
	last, _ := svc.LastRequest()
	if last.Header.Get("Content-Type") != "application/json" || strings.TrimSpace(string(last.Body)) != `{"name":"bob"}` {
		t.Fatalf("sent %+v", last)
	}

	// No pool named: the absolute URL's host finds it.
	if resp, err = n.Request(ctx, httppool.Request{URL: svc.URL() + "/users/1"}); err != nil || resp.Status != 200 {
		t.Fatalf("by URL: %+v %v", resp, err)
	}
	if _, err := n.Request(ctx, httppool.Request{URL: "http://127.0.0.1:1/"}); !errors.Is(err, httppool.ErrNoPool) {
		t.Fatal(err)
	}
	if _, err := n.Get(ctx, "nope", "/"); !errors.Is(err, httppool.ErrNoPool) {
		t.Fatal(err)
	}

	// The pool's breaker is the node's breaker "api".
	svc.FailNext(10, 500)
	for i := 0; i < 2; i++ {
		if _, err := n.Get(ctx, "api", "/users/1"); !errors.Is(err, httppool.ErrStatus) && !errors.Is(err, breaker.ErrOpen) {
			t.Fatal(err)
		}
	}
	if b, _ := n.Breaker("api"); b.State() != breaker.Open {
		t.Fatalf("breaker %v", b.State())
	}

	p, ok := n.Pool("api")
	if !ok {
		t.Fatal("no pool")
	}
	resized := collect[*event.PoolResized](t, n)
	st, err := p.Resize(ctx, 9)
	if err != nil || st.Size != 9 {
		t.Fatalf("resize %+v %v", st, err)
	}
	if ev := recv(t, resized); ev.From != 3 || ev.To != 9 {
		t.Fatalf("%+v", ev)
	}
	st = p.Stats()
	if st.Breaker != "api" || st.Requests.Success != 3 || st.Requests.ServerError != 2 {
		t.Fatalf("stats %+v", st)
	}
	if got := metricValue(t, n, "vsm_http_requests_total", "pool", "api", "class", "2xx"); got != 3 {
		t.Fatalf("metric 2xx = %v", got)
	}
	if _, err := p.Resize(ctx, 0); err == nil {
		t.Fatal("size 0 accepted")
	}
}

// metricValue reads one counter or gauge from the node's registry.
func metricValue(t *testing.T, n *vsm.Node, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := n.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

// The embedded default config (pool "local" calling the node's own admin
// API) works: the pool reaches the admin API of the node that owns it.
func TestDefaultConfigLocalPoolCallsOwnAdminAPI(t *testing.T) {
	cfg, err := config.Parse("default.yaml", config.DefaultYAML)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The test cannot own port 7070; point the pool where the API listens.
	local := cfg.Pools["local"]
	local.Port = ln.Addr().(*net.TCPAddr).Port
	cfg.Pools["local"] = local
	n := startNode(t, cfg)
	srv := &http.Server{Handler: admin.New(n, admin.WithRoutes(admin.PoolRoutes(n)...)), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := n.Get(ctx, "local", "/healthz")
	if err != nil || resp.Status != 200 || !strings.Contains(string(resp.Body), `"ok"`) {
		t.Fatalf("%+v %v", resp, err)
	}
	resp, err = n.Get(ctx, "local", "/api/v1/pools/local")
	if err != nil {
		t.Fatal(err)
	}
	var st httppool.Stats
	if err := json.Unmarshal(resp.Body, &st); err != nil || st.Name != "local" || st.Breaker != "local" || st.Size != 4 {
		t.Fatalf("%s %v", resp.Body, err)
	}
}

func TestPoolHandleAndMessagesFromACustomActor(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	svc.Respond(200, "pong", nil)
	n := startNode(t, poolConfig(t, fmt.Sprintf("pools:\n  api:\n    endpoints: [%s]\n", svc.Addr())))
	p, _ := n.Pool("api")
	pid, ok := p.PID()
	if !ok {
		t.Fatal("no pool actor")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := httppool.Send(ctx, n.Root(), pid, &httppool.DoRequest{Method: "GET", URL: "/ping"})
	if err != nil || string(resp.Body) != "pong" {
		t.Fatalf("%+v %v", resp, err)
	}
	if got := len(n.Pools()); got != 1 {
		t.Fatal(got)
	}
	if _, err := n.AddPool(ctx, httppool.Config{Name: "api"}); err == nil {
		t.Fatal("duplicate pool added")
	}
	extra, err := n.AddPool(ctx, httppool.Config{Name: "extra", Endpoints: []string{svc.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := extra.Do(ctx, httppool.Request{URL: "/"}); err != nil || resp.Status != 200 {
		t.Fatalf("%+v %v", resp, err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Get(ctx, "api", "/"); !errors.Is(err, vsm.ErrStopped) {
		t.Fatalf("after stop: %v", err)
	}
}
