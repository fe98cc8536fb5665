package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/supervisor"
)

func setup(t testing.TB) (*vsm.Node, *httptest.Server) {
	return setupWith(t, nil)
}

func setupWith(t testing.TB, cfg *vsm.Config) (*vsm.Node, *httptest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := vsm.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	api := admin.New(n, admin.WithHeartbeat(50*time.Millisecond), admin.WithRoutes(admin.BreakerRoutes(n)...))
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		api.Close()
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return n, srv
}

func do(t testing.TB, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthzAndTree(t *testing.T) {
	n, srv := setup(t)
	code, body := do(t, "GET", srv.URL+"/healthz", "")
	if code != 200 || !strings.Contains(body, `"status": "ok"`) || !strings.Contains(body, n.Name()) {
		t.Fatalf("healthz = %d %s", code, body)
	}
	code, body = do(t, "GET", srv.URL+"/api/v1/tree", "")
	if code != 200 {
		t.Fatalf("tree = %d %s", code, body)
	}
	var tree supervisor.TreeNode
	if err := json.Unmarshal([]byte(body), &tree); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range tree.Children {
		got = append(got, c.Name)
		if c.PID == "" || c.Kind != "supervisor" {
			t.Errorf("child %+v lacks pid or kind", c)
		}
	}
	if strings.Join(got, ",") != "s5,s4,s3,s2,s1,user" {
		t.Fatalf("tree children = %v", got)
	}
}

func TestPostAlertReachesS5(t *testing.T) {
	n, srv := setup(t)
	handled := make(chan *algedonic.Alert, 1)
	if err := n.AddReaction(context.Background(), "t", func(a *algedonic.Alert) { handled <- a }); err != nil {
		t.Fatal(err)
	}
	code, body := do(t, "POST", srv.URL+"/api/v1/alerts", `{"severity":"critical","source":"ops","reason":"db down"}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST alert = %d %s", code, body)
	}
	select {
	case a := <-handled:
		if a.Severity != algedonic.Critical || a.Source != "ops" || a.Reason != "db down" || a.Node != n.Name() {
			t.Fatalf("S5 got %+v", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("alert never reached S5")
	}
	code, body = do(t, "GET", srv.URL+"/metrics", "")
	if code != 200 || !strings.Contains(body, `vsm_alerts_total{severity="critical"} 1`) {
		// the metrics subscriber is asynchronous: poll briefly.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && !strings.Contains(body, `vsm_alerts_total{severity="critical"} 1`) {
			time.Sleep(20 * time.Millisecond)
			_, body = do(t, "GET", srv.URL+"/metrics", "")
		}
		if !strings.Contains(body, `vsm_alerts_total{severity="critical"} 1`) {
			t.Fatalf("metrics lack the alert:\n%s", body)
		}
	}
	for _, want := range []string{`vsm_events_total{kind="alert.raised"} 1`, "vsm_telemetry_events_dropped_total 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestMalformedAlertsAre400(t *testing.T) {
	n, srv := setup(t)
	for _, body := range []string{
		``, `{`, `[]`, `"x"`, `{"severity":"loud","source":"a","reason":"b"}`,
		`{"severity":"info","source":"a"}`, `{"severity":"info","source":"","reason":"b"}`,
		`{"severity":"info","source":"a","reason":"b","extra":1}`,
		`{"severity":"info","source":"a","reason":"b"} {}`,
		`{"severity":"info","source":"a","reason":"` + strings.Repeat("x", 70<<10) + `"}`,
		`{"severity":7,"source":"a","reason":"b"}`,
	} {
		code, resp := do(t, "POST", srv.URL+"/api/v1/alerts", body)
		var e map[string]string
		if code != http.StatusBadRequest || json.Unmarshal([]byte(resp), &e) != nil || e["error"] == "" {
			t.Errorf("body %.40q: %d %s; want 400 with a JSON error", body, code, resp)
		}
	}
	for _, sev := range []algedonic.Severity{algedonic.Info, algedonic.Warning, algedonic.Critical, algedonic.Emergency} {
		if c := n.AlertCount(sev); c != 0 {
			t.Errorf("malformed requests raised %d %s alerts", c, sev)
		}
	}
	if code, _ := do(t, "GET", srv.URL+"/healthz", ""); code != 200 {
		t.Fatal("node unhealthy after malformed requests")
	}
	code, resp := do(t, "GET", srv.URL+"/api/v1/nothing", "")
	if code != 404 || !strings.Contains(resp, `"error"`) {
		t.Fatalf("unknown route = %d %s", code, resp)
	}
}

func TestEventsStreamLive(t *testing.T) {
	n, srv := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/events?kind=alert.", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	if line, _ := r.ReadString('\n'); line != ": connected\n" {
		t.Fatalf("first line %q", line)
	}
	if err := n.Raise(algedonic.Warning, "sse", "live"); err != nil {
		t.Fatal(err)
	}
	var evLine, dataLine string
	for evLine == "" || dataLine == "" {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		switch {
		case strings.HasPrefix(line, "event: "):
			evLine = strings.TrimSpace(strings.TrimPrefix(line, "event: "))
		case strings.HasPrefix(line, "data: "):
			dataLine = strings.TrimPrefix(line, "data: ")
		}
	}
	if evLine != "alert.raised" {
		t.Fatalf("event %q (the kind filter must drop every other kind)", evLine)
	}
	var env struct {
		Kind string `json:"kind"`
		Data struct {
			Severity, Source, Reason string
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(dataLine), &env); err != nil {
		t.Fatal(err)
	}
	if env.Kind != "alert.raised" || env.Data.Severity != "warning" || env.Data.Source != "sse" || env.Data.Reason != "live" {
		t.Fatalf("envelope = %+v", env)
	}
}

func TestDashboardServed(t *testing.T) {
	_, srv := setup(t)
	code, body := do(t, "GET", srv.URL+"/", "")
	if code != 200 || !strings.Contains(body, "new EventSource(") {
		t.Fatalf("dashboard = %d", code)
	}
}

// TestSlowSSEClientNeverBlocksPublishers connects a client that stops
// reading, floods the stream, and checks publishers finish, the node stays
// healthy and the stream reports what it dropped.
func TestSlowSSEClientNeverBlocksPublishers(t *testing.T) {
	n, srv := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/events?kind=member.", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if line, _ := r.ReadString('\n'); line != ": connected\n" {
		t.Fatalf("first line %q", line)
	}
	// The client reads nothing while 20,000 events of 1 KiB are published:
	// far more than the socket buffers and the 256-event queue hold.
	big := strings.Repeat("x", 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20_000; i++ {
			n.Publish(&event.MemberJoined{Node: big})
		}
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("publishers were blocked by a slow SSE client")
	}
	if code, _ := do(t, "GET", srv.URL+"/healthz", ""); code != 200 {
		t.Fatal("node unhealthy")
	}
	// Now read: the stream goes on and says how many events it dropped.
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before reporting drops: %v", err)
		}
		if strings.HasPrefix(line, ": dropped ") {
			return
		}
	}
}
