package config

import (
	"github.com/viable-systems/vsm-connections/algedonic"
)

// Config is a node's whole configuration. The zero value of every field
// means its documented default; WithDefaults fills them in.
type Config struct {
	Node            Node                   `yaml:"node,omitempty"`
	Admin           Admin                  `yaml:"admin,omitempty"`
	Algedonic       Algedonic              `yaml:"algedonic,omitempty"`
	Supervision     Supervision            `yaml:"supervision,omitempty"`
	Pools           map[string]Pool        `yaml:"pools,omitempty"`
	CircuitBreakers map[string]Breaker     `yaml:"circuit_breakers,omitempty"`
	HealthChecks    map[string]HealthCheck `yaml:"health_checks,omitempty"`
	Redis           Redis                  `yaml:"redis,omitempty"`
	FaultTolerance  FaultTolerance         `yaml:"fault_tolerance,omitempty"`
	Control         Control                `yaml:"control,omitempty"`
	Cluster         Cluster                `yaml:"cluster,omitempty"`

	// src is where a parsed Config came from (nil when built in code); it
	// is never modified, so copies share it.
	src *source
}

// Node is the node's identity.
type Node struct {
	// Name identifies the node in alerts, events and the cluster. Default: the
	// host name.
	Name string `yaml:"name,omitempty"`
	// Cluster groups nodes that share breaker state and alerts. Default "vsm".
	Cluster string `yaml:"cluster,omitempty"`
}

// Admin is the admin HTTP API.
type Admin struct {
	// Addr is where the admin API listens. Default "127.0.0.1:7070"; never all
	// interfaces unless written here.
	Addr string `yaml:"addr,omitempty"`
	// Readiness lists what GET /readyz waits for besides the node running.
	// Default: nothing but that.
	Readiness Readiness `yaml:"readiness,omitempty"`
}

// Readiness names the dependencies the node must have before it is ready
// to serve (GET /readyz). Each becomes a named check; a failing one never
// affects liveness (GET /livez).
type Readiness struct {
	// Redis makes the node ready only while the state backend answers: the
	// "redis" breaker, fed by the Redis health probe, is not open (or, with
	// no such breaker, a PING succeeds). Check name "redis".
	Redis bool `yaml:"redis,omitempty"`
	// Breakers lists circuit breakers (names from circuit_breakers) that
	// must not be open. Check names "breaker/<name>".
	Breakers []string `yaml:"breakers,omitempty"`
	// HealthChecks lists health checks (names from health_checks) that
	// must be healthy: a check still unknown (before its first probes
	// reach a threshold) or unhealthy makes the node not ready. Check
	// names "health/<name>".
	// A check with readiness: true joins too.
	HealthChecks []string `yaml:"health_checks,omitempty"`
}

// Algedonic is System 5's alert policy.
type Algedonic struct {
	// LogMin is the lowest severity written to the log. Default warning.
	LogMin algedonic.Severity `yaml:"log_min,omitempty"`
	// PublishMin is the lowest severity published on the event stream.
	// Default info (every alert).
	PublishMin algedonic.Severity `yaml:"publish_min,omitempty"`
	// Remote makes S5 also receive the alerts of the other nodes of the
	// cluster, through Redis. Default false.
	Remote bool `yaml:"remote,omitempty"`
	// Policy is S5's rules: what it does with an alert beyond logging and
	// publishing it (see Policy). Default: no rules.
	Policy Policy `yaml:"policy,omitempty"`
}

// Supervision is the restart intensity of the system supervisors.
type Supervision struct {
	// MaxRestarts a system supervisor's children (all of them together, as
	// in OTP) may have within Window before it gives up: it stops them all
	// and escalates. Default 3.
	MaxRestarts int `yaml:"max_restarts,omitempty"`
	// Window of the restart intensity. Default 5s.
	Window Duration `yaml:"window,omitempty"`
	// BackoffInitial delays the first restart; each further restart within the
	// window doubles it, up to BackoffMax. Default 0 (restart at once).
	BackoffInitial Duration `yaml:"backoff_initial,omitempty"`
	// BackoffMax caps the restart delay. Default 1s.
	BackoffMax Duration `yaml:"backoff_max,omitempty"`
}
