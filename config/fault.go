package config

// FaultTolerance holds the retry defaults used when a call gives none.
type FaultTolerance struct {
	// DefaultMaxAttempts counts the first try. Default 3.
	DefaultMaxAttempts int `yaml:"default_max_attempts"`
	// DefaultBaseDelay is the first backoff. Default 100ms.
	DefaultBaseDelay Duration `yaml:"default_base_delay"`
	// DefaultMaxDelay caps the backoff. Default 10s.
	DefaultMaxDelay Duration `yaml:"default_max_delay"`
	// DefaultJitter is full (default), equal, decorrelated or none; true
	// means full and false means none.
	DefaultJitter Jitter `yaml:"default_jitter"`
}

// Jitter names a jitter strategy.
type Jitter string
