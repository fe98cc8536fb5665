package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/internal/redistest"
)

func parse(t *testing.T, src string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("vsm.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// probe is one GET with its status, body and content type.
func probe(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" && !strings.HasSuffix(url, "/healthz") {
		t.Errorf("%s: content type %q", url, ct)
	}
	return resp.StatusCode, string(b)
}

func wantProbe(t *testing.T, url string, code int, body string) {
	t.Helper()
	gotCode, got := probe(t, url)
	if gotCode != code || got != body {
		t.Errorf("GET %s = %d %q\nwant %d %q", url, gotCode, got, code, body)
	}
}

func TestLivezReadyzHealthz(t *testing.T) {
	n, srv := setup(t)
	wantProbe(t, srv.URL+"/livez", 200, "ok")
	wantProbe(t, srv.URL+"/livez?verbose", 200, "[+]ping ok\nlivez check passed\n")
	wantProbe(t, srv.URL+"/livez/ping", 200, "ok")
	wantProbe(t, srv.URL+"/readyz", 200, "ok")
	wantProbe(t, srv.URL+"/readyz?verbose", 200, "[+]shutdown ok\nreadyz check passed\n")
	wantProbe(t, srv.URL+"/readyz/nothing", 404, "no readyz check \"nothing\"\n")
	// /healthz is /livez; its plain answer keeps its JSON.
	wantProbe(t, srv.URL+"/healthz?verbose", 200, "[+]ping ok\nlivez check passed\n")
	code, body := probe(t, srv.URL+"/healthz")
	var h map[string]string
	if code != 200 || json.Unmarshal([]byte(body), &h) != nil || h["status"] != "ok" || h["node"] != n.Name() {
		t.Errorf("healthz = %d %s", code, body)
	}
}

// TestReadyzBreakers: a listed breaker that opens fails readiness, never
// liveness; ?exclude skips it; unknown exclusions are reported.
func TestReadyzBreakers(t *testing.T) {
	n, srv := setupWith(t, parse(t, `
admin:
  readiness:
    breakers: [api, db]
circuit_breakers:
  api: {recovery_timeout: 1h}
  db: {}
  other: {}
`))
	wantProbe(t, srv.URL+"/readyz?verbose", 200, "[+]shutdown ok\n[+]breaker/api ok\n[+]breaker/db ok\nreadyz check passed\n")
	api, _ := n.Breaker("api")
	other, _ := n.Breaker("other")
	other.Open() // not listed: no effect
	api.Open()
	failing := "[+]shutdown ok\n[-]breaker/api failed: vsm: not ready: breaker \"api\" is open\n[+]breaker/db ok\nreadyz check failed\n"
	wantProbe(t, srv.URL+"/readyz", 503, failing) // a failure is always listed
	wantProbe(t, srv.URL+"/readyz?verbose", 503, failing)
	wantProbe(t, srv.URL+"/readyz/breaker/api", 503, "[-]breaker/api failed: vsm: not ready: breaker \"api\" is open\nreadyz check failed\n")
	wantProbe(t, srv.URL+"/readyz/breaker/db", 200, "ok")
	wantProbe(t, srv.URL+"/livez", 200, "ok")
	wantProbe(t, srv.URL+"/healthz?verbose", 200, "[+]ping ok\nlivez check passed\n")
	wantProbe(t, srv.URL+"/readyz?exclude=breaker/api", 200, "ok")
	wantProbe(t, srv.URL+"/readyz?exclude=breaker/api&verbose&exclude=nope&exclude=also", 200,
		"[+]shutdown ok\n[+]breaker/api excluded: ok\n[+]breaker/db ok\n"+
			"warn: some checks cannot be excluded: no matches for \"also\", \"nope\"\nreadyz check passed\n")
	api.Close()
	wantProbe(t, srv.URL+"/readyz", 200, "ok")
}

// TestReadyzFailsOnceStopBegins: while the node stops (its user actors go
// first), /readyz already fails and /livez still passes.
func TestReadyzFailsOnceStopBegins(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := vsm.Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := admin.New(n)
	type answer struct {
		code int
		body string
	}
	get := func(path string) answer {
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return answer{rec.Code, rec.Body.String()}
	}
	during := make(chan [2]answer, 1)
	props := actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Stopping); ok {
			during <- [2]answer{get("/readyz"), get("/livez")}
		}
	})
	if _, err := n.Spawn(ctx, "watcher", props); err != nil {
		t.Fatal(err)
	}
	if a := get("/readyz"); a.code != 200 {
		t.Fatalf("readyz before Stop = %+v", a)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- n.Stop(ctx) }()
	select {
	case a := <-during:
		want := answer{503, "[-]shutdown failed: vsm: not ready: the node is stopping\nreadyz check failed\n"}
		if a[0] != want {
			t.Errorf("readyz while stopping = %+v, want %+v", a[0], want)
		}
		if a[1] != (answer{200, "ok"}) {
			t.Errorf("livez while stopping = %+v", a[1])
		}
	case <-ctx.Done():
		t.Fatal("the user actor never stopped")
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if a := get("/readyz"); a.code != 503 {
		t.Errorf("readyz after Stop = %+v", a)
	}
}

// TestReadyzRedis: with Redis configured, readiness follows the "redis"
// health breaker: the server killed, readiness fails (liveness does not);
// back, it passes again.
func TestReadyzRedis(t *testing.T) {
	rs := redistest.Start(t)
	cfg := parse(t, "admin:\n  readiness:\n    redis: true\nredis:\n  url: "+rs.URL()+"\n  timeout: 200ms\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := vsm.Start(ctx, cfg, vsm.WithHealthInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin.New(n))
	t.Cleanup(func() {
		srv.Close()
		if err := n.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	wantProbe(t, srv.URL+"/readyz?verbose", 200, "[+]shutdown ok\n[+]redis ok\nreadyz check passed\n")
	b, ok := n.Breaker(vsm.HealthBreaker)
	if !ok {
		t.Fatal("no redis health breaker")
	}
	states := make(chan breaker.State, 16)
	defer b.Subscribe(func(tr breaker.Transition) { states <- tr.To })()
	waitState := func(want breaker.State) {
		t.Helper()
		for {
			select {
			case s := <-states:
				if s == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("redis breaker never became %s", want)
			}
		}
	}
	rs.Kill()
	waitState(breaker.Open)
	wantProbe(t, srv.URL+"/readyz", 503, "[+]shutdown ok\n[-]redis failed: vsm: not ready: breaker \"redis\" is open\nreadyz check failed\n")
	wantProbe(t, srv.URL+"/livez", 200, "ok")
	rs.Restart()
	waitState(breaker.Closed)
	wantProbe(t, srv.URL+"/readyz", 200, "ok")
}

func TestMetricsServeRuntimeCollectors(t *testing.T) {
	_, srv := setup(t)
	code, body := do(t, "GET", srv.URL+"/metrics", "")
	for _, want := range []string{"\ngo_goroutines ", "\ngo_info{", "\nprocess_cpu_seconds_total ", "\nprocess_resident_memory_bytes "} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %q", code, strings.TrimSpace(want))
		}
	}
}

// TestReadyzCheckThatHangsOrPanics: a check that ignores its ctx fails at
// the probe timeout, one that panics fails; neither holds the answer up or
// takes the node down.
func TestReadyzCheckThatHangsOrPanics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := vsm.Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin.New(n, admin.WithProbeTimeout(200*time.Millisecond)))
	block := make(chan struct{})
	t.Cleanup(func() {
		close(block)
		srv.Close()
		if err := n.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if err := n.AddReadinessCheck("hang", func(context.Context) error { <-block; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := n.AddReadinessCheck("boom", func(context.Context) error { panic("boom") }); err != nil {
		t.Fatal(err)
	}
	wantProbe(t, srv.URL+"/readyz", 503, "[+]shutdown ok\n"+
		"[-]hang failed: no answer within 200ms: context deadline exceeded\n"+
		"[-]boom failed: check panicked: boom\nreadyz check failed\n")
	wantProbe(t, srv.URL+"/readyz?exclude=hang&exclude=boom", 200, "ok")
	wantProbe(t, srv.URL+"/livez", 200, "ok")
}
