package config

import (
	"errors"
	"testing"
)

// WithoutSource keeps every setting and drops only the positions: a
// problem found later names its key without a file or line, and the
// original keeps its own.
func TestWithoutSource(t *testing.T) {
	c, err := Parse("vsm.yaml", []byte("circuit_breakers:\n  api:\n    failure_threshold: 3\npools:\n  api: {host: 127.0.0.1, port: 80, circuit_breaker: api}\n"))
	if err != nil {
		t.Fatal(err)
	}
	bare := c.WithDefaults().WithoutSource()
	if bare.src != nil {
		t.Fatal("WithoutSource kept the source")
	}
	if !bare.Equal(c.WithDefaults()) {
		t.Fatal("WithoutSource changed a setting")
	}
	if err := bare.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	broken := func(c *Config) error {
		b := c.CircuitBreakers["api"]
		b.FailureThreshold = -1
		c.CircuitBreakers = map[string]Breaker{"api": b}
		return c.Validate()
	}
	want := Problem{Key: "circuit_breakers.api.failure_threshold", Msg: "must be at least 1, got -1"}
	var e *Error
	if err := broken(bare); !errors.As(err, &e) || len(e.Problems) != 1 || e.Problems[0] != want {
		t.Fatalf("without source: %v, want %+v", err, want)
	}
	want.File, want.Line = "vsm.yaml", 3
	withSrc := c.WithDefaults()
	if err := broken(withSrc); !errors.As(err, &e) || len(e.Problems) != 1 || e.Problems[0] != want {
		t.Fatalf("with source: %v, want %+v", err, want)
	}
}
