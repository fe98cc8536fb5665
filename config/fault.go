package config

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FaultTolerance holds the retry defaults used when a call gives none.
type FaultTolerance struct {
	// DefaultMaxAttempts counts the first try. Default 3.
	DefaultMaxAttempts int `yaml:"default_max_attempts,omitempty"`
	// DefaultBaseDelay is the first backoff. Default 100ms.
	DefaultBaseDelay Duration `yaml:"default_base_delay,omitempty"`
	// DefaultMaxDelay caps the backoff. Default 10s.
	DefaultMaxDelay Duration `yaml:"default_max_delay,omitempty"`
	// DefaultJitter is full (default), equal, decorrelated or none; true
	// means full and false means none.
	DefaultJitter Jitter `yaml:"default_jitter,omitempty"`
}

// Jitter names a jitter strategy.
type Jitter string

// UnmarshalYAML accepts a strategy name, or a YAML boolean: true is full and
// false is none.
func (j *Jitter) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want full, equal, decorrelated, none, true or false, got a " + kindName(n.Kind))
	}
	if n.ShortTag() == "!!bool" {
		var b bool
		if err := n.Decode(&b); err != nil {
			return fmt.Errorf("invalid jitter %s: %w", quote(n.Value), err)
		}
		*j = JitterNone
		if b {
			*j = JitterFull
		}
		return nil
	}
	v := Jitter(strings.ToLower(strings.TrimSpace(n.Value)))
	if !v.Valid() {
		return fmt.Errorf("invalid jitter %s: want full, equal, decorrelated, none, true or false", quote(n.Value))
	}
	*j = v
	return nil
}

// Valid reports whether j names a strategy; the empty Jitter (the default,
// full) is not valid until WithDefaults fills it in.
func (j Jitter) Valid() bool {
	switch j {
	case JitterFull, JitterEqual, JitterDecorrelated, JitterNone:
		return true
	}
	return false
}
