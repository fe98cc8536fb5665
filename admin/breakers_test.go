package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
)

const breakerYAML = `
circuit_breakers:
  api:
    failure_threshold: 2
    recovery_timeout: 1h
    call_timeout: 1s
  billing:
    mode: rate
    failure_rate: 50
    minimum_calls: 4
`

func stats(t *testing.T, body string) breaker.Stats {
	t.Helper()
	var st breaker.Stats
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return st
}

func TestBreakerEndpoints(t *testing.T) {
	cfg, err := config.Parse("breakers.yaml", []byte(breakerYAML))
	if err != nil {
		t.Fatal(err)
	}
	n, srv := setupWith(t, cfg)
	changes := make(chan *event.BreakerStateChanged, 16)
	alerts := make(chan *event.AlertRaised, 16)
	cancel := n.Subscribe(func(ev event.Event) {
		switch e := ev.(type) {
		case *event.BreakerStateChanged:
			changes <- e
		case *event.AlertRaised:
			alerts <- e
		}
	})
	defer cancel()
	next := func() *event.BreakerStateChanged {
		select {
		case e := <-changes:
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no breaker.state_changed event")
			return nil
		}
	}

	code, body := do(t, "GET", srv.URL+"/api/v1/breakers", "")
	var all []breaker.Stats
	if code != 200 || json.Unmarshal([]byte(body), &all) != nil || len(all) != 2 || all[0].Name != "api" || all[1].Name != "billing" {
		t.Fatalf("list = %d %s", code, body)
	}
	if all[0].State != breaker.Closed || all[1].Mode != "rate" {
		t.Fatalf("list = %+v", all)
	}

	// Two failures through the Go handle open "api".
	b, ok := n.Breaker("api")
	if !ok {
		t.Fatal("no breaker api on the node")
	}
	boom := errors.New("upstream down")
	for range 2 {
		if err := b.Call(context.Background(), func(context.Context) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("Call = %v", err)
		}
	}
	if err := b.Call(context.Background(), func(context.Context) error { t.Fatal("called while open"); return nil }); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("Call while open = %v, want ErrOpen", err)
	}
	if e := next(); e.Name != "s1/breaker/api" || e.From != "closed" || e.To != "open" {
		t.Fatalf("event = %+v", e)
	}
	code, body = do(t, "GET", srv.URL+"/api/v1/breakers/api", "")
	if st := stats(t, body); code != 200 || st.State != breaker.Open || st.Failures != 2 || st.Rejections != 1 {
		t.Fatalf("api = %d %+v", code, st)
	}

	code, body = do(t, "POST", srv.URL+"/api/v1/breakers/api/reset", "")
	if st := stats(t, body); code != 200 || st.State != breaker.Closed || st.Failures != 0 || st.Rejections != 0 || st.Calls != 0 {
		t.Fatalf("reset = %d %+v", code, st)
	}
	if e := next(); e.From != "open" || e.To != "closed" {
		t.Fatalf("event after reset = %+v", e)
	}
	code, body = do(t, "POST", srv.URL+"/api/v1/breakers/billing/open", "")
	if st := stats(t, body); code != 200 || st.State != breaker.Open || !st.Forced {
		t.Fatalf("open = %d %+v", code, st)
	}
	if e := next(); e.Name != "s1/breaker/billing" || e.To != "open" {
		t.Fatalf("event after open = %+v", e)
	}
	code, body = do(t, "GET", srv.URL+"/metrics", "")
	if code != 200 || !strings.Contains(body, `vsm_breaker_state{name="billing"} 1`) || !strings.Contains(body, `vsm_breaker_calls_total{name="api",outcome="failure"} 0`) {
		t.Fatalf("metrics:\n%s", body)
	}
	code, body = do(t, "POST", srv.URL+"/api/v1/breakers/billing/close", "")
	if st := stats(t, body); code != 200 || st.State != breaker.Closed {
		t.Fatalf("close = %d %+v", code, st)
	}
	// Opening by threshold raised a warning; opening by hand (an operator's
	// decision) raised none.
	select {
	case a := <-alerts:
		if a.Severity != "warning" || a.Source != "s1/breaker/api" {
			t.Fatalf("alert = %+v", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no warning for the opened breaker")
	}
	if got := n.AlertCount(algedonic.Warning); got != 1 {
		t.Fatalf("warning alerts = %d, want 1", got)
	}

	for _, path := range []string{"/api/v1/breakers/nope", "/api/v1/breakers/nope/open"} {
		method := "GET"
		if strings.HasSuffix(path, "open") {
			method = "POST"
		}
		code, body := do(t, method, srv.URL+path, "")
		if code != http.StatusNotFound || !strings.Contains(body, `"error"`) {
			t.Errorf("%s %s = %d %s", method, path, code, body)
		}
	}
	if code, _ := do(t, "POST", srv.URL+"/api/v1/breakers/api/explode", ""); code != http.StatusNotFound {
		t.Errorf("unknown command = %d, want 404", code)
	}
}
