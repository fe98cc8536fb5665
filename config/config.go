package config

import (
	"github.com/viable-systems/vsm-connections/algedonic"
)

// Config is a node's whole configuration. The zero value of every field
// means its documented default; Defaults fills them in.
type Config struct {
	Node            Node                   `yaml:"node"`
	Admin           Admin                  `yaml:"admin"`
	Algedonic       Algedonic              `yaml:"algedonic"`
	Supervision     Supervision            `yaml:"supervision"`
	Pools           map[string]Pool        `yaml:"pools"`
	CircuitBreakers map[string]Breaker     `yaml:"circuit_breakers"`
	HealthChecks    map[string]HealthCheck `yaml:"health_checks"`
	Redis           Redis                  `yaml:"redis"`
	FaultTolerance  FaultTolerance         `yaml:"fault_tolerance"`
}

// Node is the node's identity.
type Node struct {
	// Name identifies the node in alerts, events and the cluster. Default: the
	// host name.
	Name string `yaml:"name"`
	// Cluster groups nodes that share breaker state and alerts. Default "vsm".
	Cluster string `yaml:"cluster"`
}

// Admin is the admin HTTP API.
type Admin struct {
	// Addr is where the admin API listens. Default "127.0.0.1:7070"; never all
	// interfaces unless written here.
	Addr string `yaml:"addr"`
}

// Algedonic is System 5's alert policy.
type Algedonic struct {
	// LogMin is the lowest severity written to the log. Default warning.
	LogMin algedonic.Severity `yaml:"log_min"`
	// PublishMin is the lowest severity published on the event stream.
	// Default info (every alert).
	PublishMin algedonic.Severity `yaml:"publish_min"`
}

// Supervision is the restart intensity of the system supervisors.
type Supervision struct {
	// MaxRestarts a child may have within Window before its supervisor gives
	// up on it and escalates. Default 3.
	MaxRestarts int `yaml:"max_restarts"`
	// Window of the restart intensity. Default 5s.
	Window Duration `yaml:"window"`
	// BackoffInitial delays the first restart; each further restart within the
	// window doubles it, up to BackoffMax. Default 0 (restart at once).
	BackoffInitial Duration `yaml:"backoff_initial"`
	// BackoffMax caps the restart delay. Default 1s.
	BackoffMax Duration `yaml:"backoff_max"`
}
