// Package faultconfig turns the fault_tolerance section of a node's config
// into fault options. It is apart from fault so that fault stays free of the
// config package and what that imports.
package faultconfig

import (
	"fmt"

	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/fault"
)

// Options returns the retry defaults of c as options; zero fields keep
// fault's own defaults (3 attempts, 100ms, 10s, full jitter). Options given
// after them to Retry override them.
func Options(c config.FaultTolerance) ([]fault.Option, error) {
	j, err := fault.ParseJitter(string(c.DefaultJitter))
	if err != nil {
		return nil, fmt.Errorf("fault_tolerance.default_jitter: %w", err)
	}
	opts := []fault.Option{fault.WithJitter(j)}
	if c.DefaultMaxAttempts < 0 {
		return nil, fmt.Errorf("fault_tolerance.default_max_attempts: must not be negative (got %d)", c.DefaultMaxAttempts)
	}
	if c.DefaultMaxAttempts > 0 {
		opts = append(opts, fault.MaxAttempts(c.DefaultMaxAttempts))
	}
	if c.DefaultBaseDelay > 0 {
		opts = append(opts, fault.BaseDelay(c.DefaultBaseDelay.D()))
	}
	if c.DefaultMaxDelay > 0 {
		opts = append(opts, fault.MaxDelay(c.DefaultMaxDelay.D()))
	}
	return opts, nil
}
