package vsm_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/systems/s5"
)

// End to end: a rule in the config opens a breaker, sheds a pool through
// its actor, calls a webhook and publishes to the cluster bus, each a
// policy.decided event; an alert no rule matches changes nothing.
func TestPolicyRulesFromConfig(t *testing.T) {
	posts := make(chan algedonic.Alert, 8)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a algedonic.Alert
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &a); err != nil {
			t.Errorf("webhook body %q: %v", b, err)
		}
		posts <- a
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	n := startNode(t, poolConfig(t, fmt.Sprintf(`
node: {name: n1}
algedonic:
  publish_min: critical
  policy:
    rules:
      - name: api-down
        min_severity: critical
        source_prefix: s1/pool/api
        actions:
          - open_breaker: api
          - shed_pool: api
            fraction: 0.5
          - webhook: %s/alerts
      - name: share-warnings
        severity: warning
        actions:
          - publish: true
circuit_breakers:
  api: {failure_threshold: 5, recovery_timeout: 1h}
pools:
  api: {host: 127.0.0.1, port: 1, size: 8, circuit_breaker: api}
`, hook.URL)))
	decided := collect[*event.PolicyDecided](t, n)
	resized := collect[*event.PoolResized](t, n)
	b, _ := n.Breaker("api")
	p, _ := n.Pool("api")

	if err := n.Raise(algedonic.Info, "s1/pool/api", "fine"); err != nil {
		t.Fatal(err)
	}
	if d := recv(t, decided); d.Outcome != s5.OutcomeNoMatch || d.Alert.Reason != "fine" {
		t.Fatalf("decision %+v", d)
	}
	if b.State() != breaker.Closed || p.Stats().Size != 8 {
		t.Fatalf("after a non-matching alert: breaker %s, size %d", b.State(), p.Stats().Size)
	}

	if err := n.Raise(algedonic.Critical, "s1/pool/api", "endpoints failing"); err != nil {
		t.Fatal(err)
	}
	got := map[string]*event.PolicyDecided{}
	for range 3 {
		d := recv(t, decided)
		got[d.Action] = d
	}
	for _, action := range []string{s5.ActionOpenBreaker, s5.ActionShedPool, s5.ActionWebhook} {
		d := got[action]
		if d == nil || d.Rule != "api-down" || d.Outcome != s5.OutcomeDone || d.Alert.Reason != "endpoints failing" || d.Alert.Node != "n1" {
			t.Fatalf("%s decision %+v", action, d)
		}
	}
	if b.State() != breaker.Open {
		t.Fatalf("breaker %s, want open", b.State())
	}
	if got[s5.ActionShedPool].Detail != "size 8 -> 4" || p.Stats().Size != 4 {
		t.Fatalf("shed %q, size %d", got[s5.ActionShedPool].Detail, p.Stats().Size)
	}
	if r := recv(t, resized); r.Pool != "api" || r.From != 8 || r.To != 4 {
		t.Fatalf("resized %+v", r)
	}
	if a := recv(t, posts); a.Severity != algedonic.Critical || a.Source != "s1/pool/api" || a.Reason != "endpoints failing" || a.Node != "n1" {
		t.Fatalf("webhook got %+v", a)
	}

	// The critical alert reached the cluster bus by publish_min; a warning
	// is below it, so only the rule puts it there.
	poll(t, func() bool { return n.AlertBridgeStats().Published == 1 })
	if err := n.Raise(algedonic.Warning, "s3", "hot"); err != nil {
		t.Fatal(err)
	}
	d := recv(t, decided)
	if d.Rule != "share-warnings" || d.Action != s5.ActionPublish || d.Outcome != s5.OutcomeDone || d.Detail != "event stream and cluster" {
		t.Fatalf("publish decision %+v", d)
	}
	poll(t, func() bool { return n.AlertBridgeStats().Published == 2 })
	if len(posts) != 0 {
		t.Fatalf("%d more webhook calls", len(posts))
	}
}
