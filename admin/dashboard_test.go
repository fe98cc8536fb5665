package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// The page loads nothing from elsewhere: no absolute URL in any src, href
// or fetch, no import.
func TestDashboardIsSelfContained(t *testing.T) {
	_, srv := setup(t)
	code, body := do(t, "GET", srv.URL+"/", "")
	if code != 200 {
		t.Fatalf("dashboard = %d", code)
	}
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|@import|url\(\s*["']?(https?:)?//|fetch\(\s*["'](https?:)?//|EventSource\(\s*["'](https?:)?//`)
	if m := external.FindString(body); m != "" {
		t.Fatalf("dashboard references an external resource: %q", m)
	}
	for _, want := range []string{`id="tree"`, `id="tiles"`, `id="pools"`, `id="health"`, `id="feed"`} {
		if !strings.Contains(body, want) {
			t.Fatalf("dashboard lacks %s", want)
		}
	}
}

// ?kind= takes several prefixes, comma-separated: the dashboard asks for
// the kinds it shows and is not sent per-request events.
func TestEventsStreamSeveralKinds(t *testing.T) {
	n, srv := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/events?kind=member.,alert.", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if line, _ := r.ReadString('\n'); line != ": connected\n" {
		t.Fatalf("first line %q", line)
	}
	n.Publish(&event.AdapterRequest{Pool: "api", Status: 200})
	n.Publish(&event.MemberJoined{Node: "n2"})
	n.Publish(&event.BreakerStateChanged{Name: "api", From: "closed", To: "open"})
	if err := n.Raise(algedonic.Critical, "s1/api", "down"); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var alert struct {
		Data event.AlertRaised `json:"data"`
	}
	for alert.Data.Source == "" {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended after %v: %v", kinds, err)
		}
		if k, ok := strings.CutPrefix(line, "event: "); ok {
			kinds = append(kinds, strings.TrimSpace(k))
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(d, `"alert.raised"`) {
			if err := json.Unmarshal([]byte(d), &alert); err != nil {
				t.Fatal(err)
			}
		}
	}
	if strings.Join(kinds, " ") != "member.joined alert.raised" {
		t.Fatalf("kinds = %v, want member.joined alert.raised", kinds)
	}
	// The feed shows the time from raise to S5.
	if alert.Data.At.IsZero() || alert.Data.Received.Before(alert.Data.At) {
		t.Fatalf("alert at %v received %v", alert.Data.At, alert.Data.Received)
	}
}

// The tree JSON carries what the dashboard shows: the supervisors'
// intensity and each live actor's mailbox depth.
func TestTreeJSONHasIntensityAndMailbox(t *testing.T) {
	_, srv := setup(t)
	code, body := do(t, "GET", srv.URL+"/api/v1/tree", "")
	var root admin.TreeNode
	if err := json.Unmarshal([]byte(body), &root); code != 200 || err != nil {
		t.Fatalf("tree = %d %s %v", code, body, err)
	}
	if root.Intensity == nil || root.Intensity.MaxRestarts != supervisor.DefaultMaxRestarts || root.Intensity.Window != supervisor.DefaultWindow {
		t.Fatalf("root intensity = %+v", root.Intensity)
	}
	var policy *admin.TreeNode
	var walk func(n *admin.TreeNode)
	walk = func(n *admin.TreeNode) {
		if n.Name == "s5/policy" {
			policy = n
		}
		for i := range n.Children {
			walk(&n.Children[i])
		}
	}
	walk(&root)
	if policy == nil || policy.Kind != supervisor.KindWorker || policy.Intensity != nil || policy.Mailbox == nil || *policy.Mailbox != 0 {
		t.Fatalf("s5/policy = %+v", policy)
	}
	if !strings.Contains(body, `"mailbox": 0`) || !strings.Contains(body, `"max_restarts": 3`) {
		t.Fatalf("tree JSON lacks mailbox or intensity: %s", body)
	}
}
