package breaker

import (
	"errors"
	"fmt"
	"time"
)

// State is a breaker's state.
type State int32

const (
	// Closed lets every call through and counts failures.
	Closed State = iota
	// Open rejects every call without running it.
	Open
	// HalfOpen lets a few probe calls through to test recovery.
	HalfOpen
)

var stateNames = [...]string{Closed: "closed", Open: "open", HalfOpen: "half_open"}

// ErrState is matched by errors.Is for an unknown state name.
var ErrState = errors.New("breaker: unknown state")

func (s State) String() string {
	if s < Closed || s > HalfOpen {
		return fmt.Sprintf("state(%d)", int32(s))
	}
	return stateNames[s]
}

// ParseState accepts "closed", "open" or "half_open".
func ParseState(name string) (State, error) {
	for s, n := range stateNames {
		if n == name {
			return State(s), nil
		}
	}
	return 0, fmt.Errorf("%w %q (want closed, open or half_open)", ErrState, name)
}

// MarshalText writes the state's name, so JSON shows "half_open".
func (s State) MarshalText() ([]byte, error) {
	if s < Closed || s > HalfOpen {
		return nil, fmt.Errorf("%w %d", ErrState, int32(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText reads a state's name.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Reason says why a transition happened.
type Reason string

const (
	// ReasonFailureThreshold: FailureThreshold consecutive failures (consecutive mode).
	ReasonFailureThreshold Reason = "failure_threshold"
	// ReasonFailureRate: the window's failure rate reached FailureRate (rate mode).
	ReasonFailureRate Reason = "failure_rate"
	// ReasonRecoveryTimeout: RecoveryTimeout passed; probes may go.
	ReasonRecoveryTimeout Reason = "recovery_timeout"
	// ReasonProbeFailed: a half-open probe failed.
	ReasonProbeFailed Reason = "probe_failed"
	// ReasonProbesSucceeded: SuccessThreshold probes succeeded.
	ReasonProbesSucceeded Reason = "probes_succeeded"
	// ReasonProbeTimeout: the half-open probes gave no verdict within
	// ProbeTimeout (a caller lost its Token, or a probe hangs); it counts
	// as a failed probe.
	ReasonProbeTimeout Reason = "probe_timeout"
	// ReasonClusterOpen: held open (Hold) because the cluster's shared
	// breaker is open: another node tripped it.
	ReasonClusterOpen Reason = "cluster_open"
	// ReasonManualOpen: Open was called.
	ReasonManualOpen Reason = "manual_open"
	// ReasonManualClose: Close was called.
	ReasonManualClose Reason = "manual_close"
	// ReasonReset: Reset was called.
	ReasonReset Reason = "reset"
	// reasonNew is the reason of the first phase; it is never notified.
	reasonNew Reason = "new"
)

// Transition is what listeners receive after a breaker changed state.
type Transition struct {
	Name   string    `json:"name"`
	From   State     `json:"from"`
	To     State     `json:"to"`
	Reason Reason    `json:"reason"`
	At     time.Time `json:"at"`
	// Generation numbers the phase entered. Listeners receive transitions
	// in generation order, one at a time; a transition that changes nothing
	// a listener can see (Hold of an open breaker) is skipped, so
	// generations may have gaps.
	Generation uint64 `json:"generation"`
	// Forced: the phase entered is a manual open (Open), with no recovery
	// until Close or Reset. Open on a breaker that is already open but not
	// by hand is notified as open → open with Forced set.
	// FailedProbes is how many recoveries in a row ended with a failed probe,
	// counting this one when Reason is ReasonProbeFailed; 0 once the breaker
	// closes.
	FailedProbes int  `json:"failed_probes"`
	Forced       bool `json:"forced,omitempty"`
}
