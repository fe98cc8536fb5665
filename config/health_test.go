package config

import (
	"reflect"
	"strings"
	"testing"
)

func equalCheck(a, b HealthCheck) bool { return reflect.DeepEqual(a, b) }

// The health_checks keys added for S4's checkers: target as an alias of
// url/address, and each kind's own settings.
func TestHealthCheckProblems(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"url and target", "health_checks:\n  a:\n    url: http://h/\n    target: http://h/\n",
			[]string{`vsm.yaml:4: health_checks.a.target: target is an alias of url: set one of them, not both`}},
		{"address on http", "health_checks:\n  a:\n    address: h:1\n",
			[]string{`vsm.yaml:3: health_checks.a.address: not used by http checks; use url`}},
		{"url on tcp", "health_checks:\n  a:\n    type: tcp\n    url: http://h/\n",
			[]string{`vsm.yaml:4: health_checks.a.url: not used by tcp checks; use address`}},
		{"grpc address", "health_checks:\n  a:\n    type: grpc\n    address: h\n",
			[]string{`vsm.yaml:4: health_checks.a.address: want host:port, got "h"`}},
		{"websocket scheme", "health_checks:\n  a:\n    type: websocket\n    url: http://h/ws\n",
			[]string{`vsm.yaml:4: health_checks.a.url: want a ws:// or wss:// URL, got "http://h/ws"`}},
		{"redis takes no target", "health_checks:\n  a:\n    type: redis\n    target: h:6379\n",
			[]string{`vsm.yaml:4: health_checks.a.target: a redis check pings the node's own Redis (redis:); it takes no target`}},
		{"expected status range", "health_checks:\n  a:\n    url: http://h/\n    expected_status: [200, 99]\n",
			[]string{`vsm.yaml:4: health_checks.a.expected_status[1]: want an HTTP status in 100..599, got 99`}},
		{"expected status on tcp", "health_checks:\n  a:\n    type: tcp\n    address: h:1\n    expected_status: [200]\n",
			[]string{`vsm.yaml:5: health_checks.a.expected_status: only for http checks`}},
		{"bad regexp", "health_checks:\n  a:\n    url: http://h/\n    body_regexp: '('\n",
			[]string{"vsm.yaml:4: health_checks.a.body_regexp: error parsing regexp: missing closing ): `(`"}},
		{"service on http", "health_checks:\n  a:\n    url: http://h/\n    service: x\n",
			[]string{`vsm.yaml:4: health_checks.a.service: only for grpc checks`}},
		{"thresholds", "health_checks:\n  a:\n    url: http://h/\n    healthy_threshold: 0\n    unhealthy_threshold: -2\n",
			[]string{`vsm.yaml:4: health_checks.a.healthy_threshold: must be at least 1, got 0`,
				`vsm.yaml:5: health_checks.a.unhealthy_threshold: must be at least 1, got -2`}},
		{"jitter", "health_checks:\n  a:\n    url: http://h/\n    jitter_percent: 150\n    unhealthy_interval: -1s\n",
			[]string{`vsm.yaml:4: health_checks.a.jitter_percent: must be at most 100, got 150`,
				`vsm.yaml:5: health_checks.a.unhealthy_interval: invalid duration "-1s": must not be negative`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustProblems(t, tt.src)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestHealthCheckDefaults(t *testing.T) {
	c, err := Parse("vsm.yaml", []byte("health_checks:\n  a: {type: grpc, target: 'h:1', interval: 20s, jitter_percent: -1}\n  r: {type: redis, unhealthy_interval: 1s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := c.WithDefaults()
	a, r := d.HealthChecks["a"], d.HealthChecks["r"]
	if a.Endpoint() != "h:1" || a.UnhealthyInterval.D().String() != "20s" || a.InitialJitter != 0 || a.JitterPercent != -1 {
		t.Errorf("a = %+v", a)
	}
	if r.Endpoint() != "" || r.UnhealthyInterval.D().String() != "1s" || r.Interval.D().String() != "10s" || r.InitialJitter.D().String() != "1s" {
		t.Errorf("r = %+v", r)
	}
}
