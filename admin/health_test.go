package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/actors/health"
	"github.com/viable-systems/vsm-connections/admin"
)

// fakeHealth is a HealthChecks double: snapshots set by the test, Check
// answering from a table.
type fakeHealth struct {
	mu     sync.Mutex
	snaps  map[string]health.Snapshot
	checks []string
}

func (f *fakeHealth) AllStatus() map[string]health.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]health.Snapshot, len(f.snaps))
	for k, v := range f.snaps {
		out[k] = v
	}
	return out
}

func (f *fakeHealth) Status(name string) (health.Snapshot, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.snaps[name]
	return s, ok
}

func (f *fakeHealth) Check(_ context.Context, name string) (health.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks = append(f.checks, name)
	switch name {
	case "db":
		return health.Result{Check: "db", Healthy: false, Latency: 3 * time.Millisecond, Error: "refused", Status: health.Unhealthy}, nil
	case "idle":
		return health.Result{}, fmt.Errorf("%w: idle", health.ErrNotRunning)
	}
	return health.Result{}, fmt.Errorf("%w: %s", health.ErrUnknownCheck, name)
}

func TestHealthRoutes(t *testing.T) {
	hc := &fakeHealth{snaps: map[string]health.Snapshot{
		"web": {Name: "web", Kind: "http", Status: health.Healthy, Successes: 4},
		"db":  {Name: "db", Kind: "tcp", Status: health.Unhealthy, Failures: 2, Critical: true},
	}}
	n, _ := setup(t)
	srv := httptest.NewServer(admin.New(n, admin.WithRoutes(admin.HealthRoutes(hc)...)))
	defer srv.Close()

	code, body := do(t, "GET", srv.URL+"/api/v1/health", "")
	var list []struct {
		Name     string `json:"name"`
		Status   string `json:"status"`
		Critical bool   `json:"critical"`
	}
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
		t.Fatalf("list = %d %s %v", code, body, err)
	}
	if len(list) != 2 || list[0].Name != "db" || list[0].Status != "unhealthy" || !list[0].Critical ||
		list[1].Name != "web" || list[1].Status != "healthy" {
		t.Fatalf("list = %+v", list)
	}

	if code, body = do(t, "GET", srv.URL+"/api/v1/health/web", ""); code != 200 {
		t.Fatalf("one = %d %s", code, body)
	}
	var one struct {
		Name      string `json:"name"`
		Status    string `json:"status"`
		Successes uint64 `json:"successes"`
	}
	if json.Unmarshal([]byte(body), &one) != nil || one.Name != "web" || one.Status != "healthy" || one.Successes != 4 {
		t.Fatalf("one = %s", body)
	}
	if code, body = do(t, "GET", srv.URL+"/api/v1/health/nope", ""); code != 404 {
		t.Fatalf("unknown = %d %s", code, body)
	}

	code, body = do(t, "POST", srv.URL+"/api/v1/health/db/check", "")
	var res struct {
		Check   string        `json:"check"`
		Healthy bool          `json:"healthy"`
		Latency time.Duration `json:"latency"`
		Error   string        `json:"error"`
		Status  string        `json:"status"`
	}
	if err := json.Unmarshal([]byte(body), &res); code != 200 || err != nil {
		t.Fatalf("check = %d %s", code, body)
	}
	if res.Check != "db" || res.Healthy || res.Latency != 3*time.Millisecond || res.Error != "refused" || res.Status != "unhealthy" {
		t.Fatalf("check = %+v", res)
	}
	if code, body = do(t, "POST", srv.URL+"/api/v1/health/idle/check", ""); code != 503 {
		t.Fatalf("not running = %d %s", code, body)
	}
	if code, body = do(t, "POST", srv.URL+"/api/v1/health/nope/check", ""); code != 404 {
		t.Fatalf("unknown check = %d %s", code, body)
	}
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if fmt.Sprint(hc.checks) != "[db idle nope]" {
		t.Fatalf("checks run = %v", hc.checks)
	}
}

// Without HealthRoutes, GET /api/v1/health is an empty list (the
// dashboard shows "no health checks"), and one check is 404.
func TestHealthWithoutRoutesIsEmpty(t *testing.T) {
	_, srv := setup(t)
	if code, body := do(t, "GET", srv.URL+"/api/v1/health", ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("health = %d %q", code, body)
	}
	if code, body := do(t, "GET", srv.URL+"/api/v1/health/db", ""); code != 404 {
		t.Fatalf("one check = %d %s", code, body)
	}
	if code, body := do(t, "POST", srv.URL+"/api/v1/health/db/check", ""); code != 404 {
		t.Fatalf("check = %d %s", code, body)
	}
}
