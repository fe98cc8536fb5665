package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/algedonic"
)

func TestParsePolicy(t *testing.T) {
	c, err := Parse("vsm.yaml", []byte(`
algedonic:
  policy:
    webhooks: {workers: 1, queue: 4}
    rules:
      - name: trip
        min_severity: critical
        source_prefix: s1/pool/
        actions:
          - open_breaker: api
          - shed_pool: api
            fraction: 0.5
          - webhook: https://hooks.example/vsm
            timeout: 2s
          - publish: true
          - log: warn
`))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Algedonic.Policy
	if p.Match != "" || p.Webhooks.Workers != 1 || p.Webhooks.Queue != 4 || len(p.Rules) != 1 {
		t.Fatalf("policy %+v", p)
	}
	r := p.Rules[0]
	if r.Name != "trip" || r.MinSeverity != algedonic.Critical || r.Severity != 0 || r.SourcePrefix != "s1/pool/" || len(r.Actions) != 5 {
		t.Fatalf("rule %+v", r)
	}
	want := []PolicyAction{{OpenBreaker: "api"}, {ShedPool: "api", Fraction: 0.5},
		{Webhook: "https://hooks.example/vsm", Timeout: Duration(2 * time.Second)}, {Publish: true}, {Log: "warn"}}
	kinds := []string{"open_breaker", "shed_pool", "webhook", "publish", "log"}
	for i, a := range r.Actions {
		if a != want[i] || a.Kind() != kinds[i] {
			t.Errorf("action %d = %+v (%s), want %+v (%s)", i, a, a.Kind(), want[i], kinds[i])
		}
	}
}

func TestPolicyProblems(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"bad match", "algedonic:\n  policy:\n    match: some\n",
			[]string{`vsm.yaml:3: algedonic.policy.match: must be one of first, all; got "some"`}},
		{"zero workers", "algedonic:\n  policy:\n    webhooks:\n      workers: 0\n      queue: -1\n",
			[]string{`vsm.yaml:4: algedonic.policy.webhooks.workers: must be at least 1, got 0`,
				`vsm.yaml:5: algedonic.policy.webhooks.queue: must be at least 1, got -1`}},
		{"rule without name or actions", "algedonic:\n  policy:\n    rules:\n      - severity: info\n",
			[]string{`vsm.yaml:4: algedonic.policy.rules[0].name: required`,
				`vsm.yaml:4: algedonic.policy.rules[0].actions: a rule needs at least one action`}},
		{"duplicate rule name", "algedonic:\n  policy:\n    rules:\n      - name: a\n        actions: [{log: info}]\n      - name: a\n        actions: [{log: info}]\n",
			[]string{`vsm.yaml:6: algedonic.policy.rules[1].name: rule "a" is also rules[0]`}},
		{"bad rule name", "algedonic:\n  policy:\n    rules:\n      - name: a b\n        actions: [{log: info}]\n",
			[]string{`vsm.yaml:4: algedonic.policy.rules[0].name: name "a b" must be non-empty and use only letters, digits, '_', '.' and '-'`}},
		{"both severities", "algedonic:\n  policy:\n    rules:\n      - name: a\n        severity: info\n        min_severity: critical\n        actions: [{log: info}]\n",
			[]string{`vsm.yaml:6: algedonic.policy.rules[0].min_severity: give severity (exact) or min_severity (at least), not both`}},
		{"unknown severity", "algedonic:\n  policy:\n    rules:\n      - name: a\n        min_severity: hot\n        actions: [{log: info}]\n",
			[]string{`vsm.yaml:5: algedonic.policy.rules[0].min_severity: algedonic: unknown severity "hot" (want info, warning, critical or emergency)`}},
		{"two source keys", "algedonic:\n  policy:\n    rules:\n      - name: a\n        source: x\n        source_glob: y*\n        actions: [{log: info}]\n",
			[]string{`vsm.yaml:4: algedonic.policy.rules[0]: give at most one of source, source_prefix and source_glob`}},
		{"bad glob", "algedonic:\n  policy:\n    rules:\n      - name: a\n        source_glob: \"s1/[\"\n        actions: [{log: info}]\n",
			[]string{`vsm.yaml:5: algedonic.policy.rules[0].source_glob: invalid pattern "s1/[": syntax error in pattern`}},
		{"empty action", "algedonic:\n  policy:\n    rules:\n      - name: a\n        actions:\n          - {}\n",
			[]string{`vsm.yaml:6: algedonic.policy.rules[0].actions[0]: want one of log, publish, open_breaker, shed_pool, webhook`}},
		{"publish false", "algedonic:\n  policy:\n    rules:\n      - name: a\n        actions:\n          - publish: false\n",
			[]string{`vsm.yaml:6: algedonic.policy.rules[0].actions[0].publish: only publish: true means anything; remove the action instead`}},
		{"two actions in one entry", "algedonic:\n  policy:\n    rules:\n      - name: a\n        actions:\n          - log: info\n            open_breaker: api\n",
			[]string{`vsm.yaml:6: algedonic.policy.rules[0].actions[0]: one action per list entry; got [log open_breaker]`}},
		{"bad log level", "algedonic:\n  policy:\n    rules:\n      - name: a\n        actions:\n          - log: loud\n",
			[]string{`vsm.yaml:6: algedonic.policy.rules[0].actions[0].log: must be one of debug, info, warn, error; got "loud"`}},
		{"bad shed", "algedonic:\n  policy:\n    rules:\n      - name: a\n        actions:\n          - shed_pool: api\n            fraction: 1.5\n            min_size: 0\n",
			[]string{`vsm.yaml:7: algedonic.policy.rules[0].actions[0].fraction: must be in (0, 1], got 1.5`,
				`vsm.yaml:8: algedonic.policy.rules[0].actions[0].min_size: must be at least 1, got 0`}},
		{"shed keys without shed", "algedonic:\n  policy:\n    rules:\n      - name: a\n        actions:\n          - log: info\n            fraction: 0.5\n            timeout: 1s\n",
			[]string{`vsm.yaml:7: algedonic.policy.rules[0].actions[0].fraction: goes with shed_pool only`,
				`vsm.yaml:8: algedonic.policy.rules[0].actions[0].timeout: goes with webhook only`}},
		{"webhook not http", "algedonic:\n  policy:\n    rules:\n      - name: a\n        actions:\n          - webhook: ftp://h/x\n",
			[]string{`vsm.yaml:6: algedonic.policy.rules[0].actions[0].webhook: want an http:// or https:// URL, got "ftp://h/x"`}},
		{"webhook without host", "algedonic:\n  policy:\n    rules:\n      - name: a\n        actions:\n          - webhook: \"http:///x\"\n",
			[]string{`vsm.yaml:6: algedonic.policy.rules[0].actions[0].webhook: URL "http:///x" has no host`}},
		{"unknown action key", "algedonic:\n  policy:\n    rules:\n      - name: a\n        actions:\n          - open_braker: api\n",
			[]string{`vsm.yaml:6: algedonic.policy.rules[0].actions[0].open_braker: unknown key; did you mean "open_breaker"?`,
				`vsm.yaml:6: algedonic.policy.rules[0].actions[0]: want one of log, publish, open_breaker, shed_pool, webhook`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("vsm.yaml", []byte(tt.yaml))
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if got := err.Error(); got != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", got, strings.Join(tt.want, "\n"))
			}
		})
	}
}

// A Config built in code is validated the same way, without lines.
func TestValidatePolicyInCode(t *testing.T) {
	c := &Config{Algedonic: Algedonic{Policy: Policy{Rules: []PolicyRule{
		{Name: "a", Actions: []PolicyAction{{Webhook: "http://127.0.0.1:1/", Timeout: Duration(-time.Second)}}},
	}}}}
	err := c.Validate()
	if want := "algedonic.policy.rules[0].actions[0].timeout: must not be negative, got -1s"; err == nil || err.Error() != want {
		t.Fatalf("Validate = %v, want %s", err, want)
	}
}
