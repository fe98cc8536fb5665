package config

import (
	"strings"
	"testing"
	"time"
)

const controlBase = `circuit_breakers:
  api: {}
pools:
  api: {host: 127.0.0.1, port: 8080, circuit_breaker: api}
  bare: {endpoints: ['127.0.0.1:81', '127.0.0.1:82']}
health_checks:
  web: {url: 'http://127.0.0.1:8080/health'}
  one: {type: tcp, address: '127.0.0.1:82'}
`

// control: and the readiness keys of health checks are checked against the
// checks, pools and breakers they name.
func TestControlProblems(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown names", "control:\n  health_policies:\n    - {check: nope, pool: gone, on_unhealthy: none}\n",
			[]string{`vsm.yaml:11: control.health_policies[0].check: no health check "nope" in health_checks`, `vsm.yaml:11: control.health_policies[0].pool: no pool "gone" in pools`}},
		{"no breaker", "control:\n  health_policies:\n    - {check: web, pool: bare}\n",
			[]string{`vsm.yaml:11: control.health_policies[0].on_unhealthy: open_breaker needs a circuit_breaker on pool "bare"`}},
		{"endpoint not in pool", "control:\n  health_policies:\n    - {check: web, pool: bare, on_unhealthy: eject_endpoint}\n",
			[]string{`vsm.yaml:11: control.health_policies[0].endpoint: endpoint "127.0.0.1:8080" is not one of pool "bare"'s endpoints (127.0.0.1:81, 127.0.0.1:82)`}},
		{"bad action", "control:\n  health_policies:\n    - {check: web, pool: api, on_unhealthy: reboot}\n",
			[]string{`vsm.yaml:11: control.health_policies[0].on_unhealthy: must be one of open_breaker, eject_endpoint, none; got "reboot"`}},
		{"twice", "control:\n  health_policies:\n    - {check: web, pool: api}\n    - {check: web, pool: api, on_unhealthy: none}\n",
			[]string{`vsm.yaml:12: control.health_policies[1]: check "web" and pool "api" are bound twice`}},
		{"autoscale", "control:\n  autoscale:\n    - {pool: api, min: 5, max: 3}\n    - {pool: api, low_utilisation: 90}\n    - {pool: gone}\n",
			[]string{`vsm.yaml:11: control.autoscale[0].min: want 1 <= min <= max (3), got 5`,
				`vsm.yaml:12: control.autoscale[1].pool: pool "api" is autoscaled twice`,
				`vsm.yaml:12: control.autoscale[1].low_utilisation: want 0 <= low_utilisation < high_utilisation <= 100, got 90 and 80`,
				`vsm.yaml:13: control.autoscale[2].pool: no pool "gone" in pools`}},
		{"readiness", "admin:\n  readiness:\n    health_checks: [web, web, nope]\n",
			[]string{`vsm.yaml:11: admin.readiness.health_checks[1]: health check "web" is listed twice`,
				`vsm.yaml:11: admin.readiness.health_checks[2]: no health check "nope" in health_checks`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustProblems(t, controlBase+tt.src)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestControlDefaults(t *testing.T) {
	c, err := Parse("vsm.yaml", []byte(controlBase+"control:\n  health_policies:\n    - {check: web, pool: api}\n"+
		"    - {check: one, pool: bare, on_unhealthy: eject_endpoint}\n    - {check: web, pool: bare, on_unhealthy: eject_endpoint, endpoint: '127.0.0.1:81'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := c.WithDefaults()
	if d.Control.AuditInterval.D() != 10*time.Second || d.Control.HealthPolicies[0].OnUnhealthy != OnUnhealthyOpenBreaker {
		t.Errorf("control = %+v", d.Control)
	}
	if c.Control.HealthPolicies[0].OnUnhealthy != "" {
		t.Errorf("WithDefaults modified its receiver")
	}
	if got := d.HealthChecks["web"].HostPort(); got != "127.0.0.1:8080" {
		t.Errorf("HostPort = %q", got)
	}
	if got := (HealthCheck{URL: "https://h/x"}).withDefaults().HostPort(); got != "h:443" {
		t.Errorf("HostPort = %q", got)
	}
}

func TestAutoscaleDefaults(t *testing.T) {
	c, err := Parse("vsm.yaml", []byte(controlBase+"control:\n  autoscale:\n    - {pool: api}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := c.WithDefaults()
	want := Autoscale{Pool: "api", Min: 1, TargetWait: Duration(10 * time.Millisecond), HighUtilisation: 80, LowUtilisation: 30}
	if got := d.Control.Autoscale[0]; got != want || d.Control.AutoscaleInterval.D() != 10*time.Second {
		t.Errorf("autoscale = %+v every %v, want %+v every 10s", got, d.Control.AutoscaleInterval, want)
	}
}
