package breakeractor

import (
	"fmt"

	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
)

// SettingsFromConfig turns one circuit_breakers entry into breaker settings.
// Zero fields keep the breaker's defaults. Coordination is not a breaker
// setting (S2 handles shared breakers) and is ignored here.
func SettingsFromConfig(c config.Breaker) (cb.Settings, error) {
	mode, err := cb.ParseMode(c.Mode)
	if err != nil {
		return cb.Settings{}, err
	}
	wt, err := cb.ParseWindowType(c.WindowType)
	if err != nil {
		return cb.Settings{}, err
	}
	s := cb.Settings{
		FailureThreshold:  c.FailureThreshold,
		RecoveryTimeout:   c.RecoveryTimeout.D(),
		CallTimeout:       c.CallTimeout.D(),
		Mode:              mode,
		WindowType:        wt,
		WindowSize:        c.WindowSize,
		WindowDuration:    c.WindowDuration.D(),
		FailureRate:       c.FailureRate,
		MinimumCalls:      c.MinimumCalls,
		SlowCallThreshold: c.SlowCallThreshold.D(),
		HalfOpenMaxCalls:  c.HalfOpenMaxCalls,
		SuccessThreshold:  c.SuccessThreshold,
		ProbeTimeout:      c.ProbeTimeout.D(),
	}
	if err := s.Validate(); err != nil {
		return cb.Settings{}, fmt.Errorf("circuit breaker: %w", err)
	}
	return s, nil
}
