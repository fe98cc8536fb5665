package breaker

import "time"

// Stats is a snapshot of a breaker. The totals are zero when telemetry is
// disabled.
type Stats struct {
	Name  string `json:"name"`
	State State  `json:"state"`
	// Forced: opened by hand, no recovery until Close or Reset.
	Forced bool `json:"forced"`
	// Held: held open by an owner that decides its recovery (Hold: a shared
	// breaker that another node tripped); not a manual open.
	Held       bool   `json:"held,omitempty"`
	Mode       string `json:"mode"`
	Generation uint64 `json:"generation"`
	// ConsecutiveFailures since the last success in this closed phase.
	ConsecutiveFailures int64 `json:"consecutive_failures"`
	// Calls = Successes + Failures + Ignored: calls that ran.
	Calls     uint64 `json:"calls"`
	Successes uint64 `json:"successes"`
	// Failures includes timeouts and slow calls.
	Failures   uint64 `json:"failures"`
	Ignored    uint64 `json:"ignored"`
	Rejections uint64 `json:"rejections"`
	Timeouts   uint64 `json:"timeouts"`
	SlowCalls  uint64 `json:"slow_calls"`
	// FailureRate is the failure percentage of the current window (rate
	// mode, closed state), WindowCalls the calls it holds.
	FailureRate float64 `json:"failure_rate"`
	WindowCalls int64   `json:"window_calls"`
	// HalfOpenInFlight and ProbeSuccesses describe the current half-open phase.
	HalfOpenInFlight int `json:"half_open_in_flight"`
	ProbeSuccesses   int `json:"probe_successes"`
	// FailedProbes is how many recoveries in a row ended with a failed probe.
	FailedProbes int `json:"failed_probes"`
	// ProbeTimeouts counts the half-open phases that ended because their
	// probes gave no verdict within ProbeTimeout (not zeroed by Close).
	ProbeTimeouts uint64 `json:"probe_timeouts"`
	// ProbeDeadline is when a half-open phase's probes are due to report.
	ProbeDeadline  time.Time `json:"probe_deadline,omitzero"`
	LastTransition time.Time `json:"last_transition"`
	LastReason     Reason    `json:"last_reason"`
	// NextTransition is when an open breaker may go half-open.
	NextTransition time.Time `json:"next_transition,omitzero"`
	Telemetry      bool      `json:"telemetry"`
	Latency        Histogram `json:"latency"`
}

// Stats returns a snapshot. Totals are read stripe by stripe, not as one
// atomic snapshot.
func (b *Breaker) Stats() Stats {
	p := b.cur.Load()
	st := Stats{
		Name:                b.name,
		State:               p.state,
		Forced:              p.forced,
		Held:                p.held,
		ProbeTimeouts:       b.probeTimeouts.Load(),
		Mode:                b.s.Mode.String(),
		Generation:          p.gen,
		ConsecutiveFailures: p.consec.Load(),
		HalfOpenInFlight:    int(p.inflight.Load()),
		ProbeSuccesses:      int(p.probeOK.Load()),
		FailedProbes:        p.streak,
		LastTransition:      b.instant(p.at),
		LastReason:          p.reason,
		Telemetry:           b.tel != nil,
	}
	switch {
	case p.state == Open && !p.forced && !p.held:
		st.NextTransition = b.instant(p.until)
	case p.state == HalfOpen:
		st.ProbeDeadline = b.instant(p.until)
	}
	var calls, fails int64
	switch {
	case p.count != nil:
		calls, fails = p.count.totals()
	case p.timed != nil:
		calls, fails = p.timed.totals(b.now())
	}
	st.WindowCalls = calls
	if calls > 0 {
		st.FailureRate = float64(fails) * 100 / float64(calls)
	}
	if b.tel != nil {
		b.tel.fill(&st)
	}
	return st
}
