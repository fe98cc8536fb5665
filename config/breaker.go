package config

// Breaker configures one circuit breaker (circuit_breakers.<name>).
type Breaker struct {
	// FailureThreshold is how many consecutive failures open the breaker in
	// consecutive mode. Default 5.
	FailureThreshold int `yaml:"failure_threshold,omitempty"`
	// RecoveryTimeout is how long the breaker stays open before it lets
	// probes through (half-open). Default 30s.
	RecoveryTimeout Duration `yaml:"recovery_timeout,omitempty"`
	// CallTimeout is each call's own deadline. Default 0: none beyond the
	// caller's context.
	CallTimeout Duration `yaml:"call_timeout,omitempty"`
	// Mode is "consecutive" (default) or "rate".
	Mode string `yaml:"mode,omitempty"`
	// WindowType is "count" (last WindowSize calls, default) or "time" (last
	// WindowDuration), used in rate mode.
	WindowType string `yaml:"window_type,omitempty"`
	// WindowSize is the number of calls in a count window. Default 100.
	WindowSize int `yaml:"window_size,omitempty"`
	// WindowDuration is the span of a time window. Default 60s.
	WindowDuration Duration `yaml:"window_duration,omitempty"`
	// FailureRate is the failure percentage (0 < r <= 100) that opens the
	// breaker in rate mode. Default 50.
	FailureRate float64 `yaml:"failure_rate,omitempty"`
	// MinimumCalls is how many calls the window must hold before the rate is
	// judged. Default 10.
	MinimumCalls int `yaml:"minimum_calls,omitempty"`
	// SlowCallThreshold: a call slower than this counts as a failure. 0 (the
	// default) disables it.
	SlowCallThreshold Duration `yaml:"slow_call_threshold,omitempty"`
	// HalfOpenMaxCalls is how many probes may run at once in half-open.
	// Default 1.
	HalfOpenMaxCalls int `yaml:"half_open_max_calls,omitempty"`
	// SuccessThreshold is how many probe successes close the breaker.
	// Default 1.
	SuccessThreshold int `yaml:"success_threshold,omitempty"`
	// ProbeTimeout is how long a half-open breaker waits for its probes'
	// verdict before it opens again (a probe that hangs or whose outcome
	// is lost). Default 0: twice call_timeout when set, otherwise 60s.
	ProbeTimeout Duration `yaml:"probe_timeout,omitempty"`
	// Coordination is "local" (default) or "shared": shared breakers agree
	// across every node with the same node.cluster, through Redis.
	Coordination string `yaml:"coordination,omitempty"`
}
