package s5

import (
	"strings"
	"testing"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/config"
)

func TestRuleMatching(t *testing.T) {
	log := []config.PolicyAction{{Log: "info"}}
	policy := config.Policy{Rules: []config.PolicyRule{
		{Name: "exact-critical-api", Severity: algedonic.Critical, Source: "s1/breaker/api", Actions: log},
		{Name: "warning-up-s1", MinSeverity: algedonic.Warning, SourcePrefix: "s1/", Actions: log},
		{Name: "glob-redis", SourceGlob: "s*/redis/*", Actions: log},
		{Name: "emergency-anywhere", MinSeverity: algedonic.Emergency, Actions: log},
	}}
	tests := []struct {
		sev        algedonic.Severity
		source     string
		first, all []string
	}{
		{algedonic.Critical, "s1/breaker/api", []string{"exact-critical-api"}, []string{"exact-critical-api", "warning-up-s1"}},
		// Exact severity: emergency is not critical.
		{algedonic.Emergency, "s1/breaker/api", []string{"warning-up-s1"}, []string{"warning-up-s1", "emergency-anywhere"}},
		{algedonic.Warning, "s1/pool/api", []string{"warning-up-s1"}, []string{"warning-up-s1"}},
		// Below min_severity.
		{algedonic.Info, "s1/pool/api", nil, nil},
		// Prefix is a prefix of the string, not of a path element.
		{algedonic.Warning, "s10/x", nil, nil},
		{algedonic.Warning, "s1", nil, nil},
		// Glob: '*' does not cross '/'.
		{algedonic.Info, "s1/redis/health", []string{"glob-redis"}, []string{"glob-redis"}},
		{algedonic.Info, "s1/redis/health/x", nil, nil},
		{algedonic.Warning, "s1/redis/health", []string{"warning-up-s1"}, []string{"warning-up-s1", "glob-redis"}},
		{algedonic.Emergency, "user/x", []string{"emergency-anywhere"}, []string{"emergency-anywhere"}},
		// Exact source: no prefix match.
		{algedonic.Critical, "s1/breaker/api2", []string{"warning-up-s1"}, []string{"warning-up-s1"}},
	}
	first, errs := compileRules(policy)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	policy.Match = config.MatchAll
	all, _ := compileRules(policy)
	names := func(ms []matched) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.rule.name)
		}
		return out
	}
	for _, tt := range tests {
		a := &algedonic.Alert{Severity: tt.sev, Source: tt.source}
		if got := names(first.match(a)); strings.Join(got, ",") != strings.Join(tt.first, ",") {
			t.Errorf("first %s %s: matched %v, want %v", tt.sev, tt.source, got, tt.first)
		}
		if got := names(all.match(a)); strings.Join(got, ",") != strings.Join(tt.all, ",") {
			t.Errorf("all %s %s: matched %v, want %v", tt.sev, tt.source, got, tt.all)
		}
	}
	// The reason says why.
	ms := first.match(&algedonic.Alert{Severity: algedonic.Warning, Source: "s1/pool/api"})
	if want := `rule warning-up-s1: severity warning >= warning, source "s1/pool/api" has prefix "s1/"`; ms[0].reason != want {
		t.Errorf("reason %q, want %q", ms[0].reason, want)
	}
}

func TestCompileRulesDefaultsAndBadRules(t *testing.T) {
	rs, errs := compileRules(config.Policy{Rules: []config.PolicyRule{
		{Name: "bad-glob", SourceGlob: "[", Actions: []config.PolicyAction{{Log: "info"}}},
		{Name: "ok", Actions: []config.PolicyAction{{ShedPool: "p"}, {Webhook: "http://127.0.0.1:1/"}, {Log: "info", Publish: true}}},
	}})
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), `rule "bad-glob"`) || !strings.Contains(errs[1].Error(), `rule "ok"`) {
		t.Fatalf("errs = %v", errs)
	}
	if len(rs.rules) != 1 || len(rs.rules[0].actions) != 2 {
		t.Fatalf("rules = %+v", rs.rules)
	}
	shed, hook := rs.rules[0].actions[0], rs.rules[0].actions[1]
	if shed.Fraction != DefaultShedFraction || shed.MinSize != DefaultShedMinSize {
		t.Errorf("shed defaults %+v", shed)
	}
	if hook.Timeout.D() != DefaultWebhookTimeout || rs.webhooks.Workers != DefaultWebhookWorkers || rs.webhooks.Queue != DefaultWebhookQueue {
		t.Errorf("webhook defaults %+v %+v", hook, rs.webhooks)
	}
}

func TestShedTargetSize(t *testing.T) {
	for _, tt := range []struct {
		t    ShedTarget
		base int
		want int
	}{
		{ShedTarget{0.5, 1}, 8, 4},
		{ShedTarget{0.5, 1}, 7, 4}, // ceil
		{ShedTarget{0.3, 1}, 10, 3},
		{ShedTarget{0.1, 1}, 4, 1},
		{ShedTarget{0.1, 3}, 4, 3},
		{ShedTarget{1, 1}, 5, 5},
		{ShedTarget{0, 0}, 10, 5}, // defaults
		{ShedTarget{0.5, 1}, 0, 1},
	} {
		if got := tt.t.Size(tt.base); got != tt.want {
			t.Errorf("%+v.Size(%d) = %d, want %d", tt.t, tt.base, got, tt.want)
		}
	}
}
