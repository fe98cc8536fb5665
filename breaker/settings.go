package breaker

import (
	"errors"
	"fmt"
	"math/bits"
	"time"
)

// Mode selects what opens a closed breaker.
type Mode uint8

const (
	// Consecutive opens after FailureThreshold failures in a row.
	Consecutive Mode = iota
	// Rate opens when the window's failure percentage reaches FailureRate.
	Rate
)

func (m Mode) String() string {
	switch m {
	case Consecutive:
		return "consecutive"
	case Rate:
		return "rate"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseMode accepts "consecutive" or "rate"; "" means Consecutive.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "consecutive":
		return Consecutive, nil
	case "rate":
		return Rate, nil
	}
	return 0, fmt.Errorf("%w: mode %q (want consecutive or rate)", ErrSettings, s)
}

// WindowType selects the sliding window of rate mode.
type WindowType uint8

const (
	// CountWindow holds the last WindowSize calls.
	CountWindow WindowType = iota
	// TimeWindow holds the calls of the last WindowDuration, in buckets.
	TimeWindow
)

func (w WindowType) String() string {
	switch w {
	case CountWindow:
		return "count"
	case TimeWindow:
		return "time"
	}
	return fmt.Sprintf("window(%d)", uint8(w))
}

// ParseWindowType accepts "count" or "time"; "" means CountWindow.
func ParseWindowType(s string) (WindowType, error) {
	switch s {
	case "", "count":
		return CountWindow, nil
	case "time":
		return TimeWindow, nil
	}
	return 0, fmt.Errorf("%w: window type %q (want count or time)", ErrSettings, s)
}

// ErrSettings is matched by errors.Is for invalid settings.
var ErrSettings = errors.New("breaker: invalid settings")

// Clock tells the time. The default is the real clock (monotonic); tests
// inject a fake one. A Clock that is also a [TimerClock] keeps the open
// (rejection) path off the clock; one that is not makes every rejection
// read it to see whether the open period is over.
type Clock interface {
	Now() time.Time
}

// TimerClock is a Clock that can also run a function once a duration has
// passed on it. A breaker arms one such timer when it enters a timed phase
// (open with a recovery timeout, half-open with a probe timeout) and the
// timer marks the phase due, so rejecting a call is one atomic load instead
// of a clock read. f must run once the clock reads at least the instant
// AfterFunc was called plus d, never earlier (a fake clock runs it from the
// call that moves its time there), on any goroutine; it only sets a flag.
// The real clock uses time.AfterFunc.
type TimerClock interface {
	Clock
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending TimerClock.AfterFunc; *time.Timer is one.
type Timer interface {
	// Stop prevents the call if it has not happened yet.
	Stop() bool
}

// Settings configure a breaker. The zero value of every field means its
// default, so Settings{} is a consecutive breaker that opens after 5
// failures in a row and probes again after 30s.
type Settings struct {
	// FailureThreshold is how many consecutive failures open the breaker in
	// Consecutive mode. Default 5.
	FailureThreshold int
	// RecoveryTimeout is how long the breaker stays open before probes may
	// go. Default 30s.
	RecoveryTimeout time.Duration
	// CallTimeout bounds each Call's function through its context. Default 0:
	// none beyond the caller's context. A call that runs past it counts as a
	// failure and a timeout, and Call returns a *TimeoutError.
	CallTimeout time.Duration
	// Mode is Consecutive (default) or Rate.
	Mode Mode
	// WindowType is CountWindow (default) or TimeWindow; used in Rate mode.
	WindowType WindowType
	// WindowSize is how many calls a count window holds. Default 100.
	WindowSize int
	// WindowDuration is the span of a time window. Default 60s. The window
	// has between 10 and 60 buckets (one per second when it can), so calls
	// leave it with that granularity.
	WindowDuration time.Duration
	// FailureRate is the failure percentage (0 < r <= 100) that opens the
	// breaker in Rate mode. Default 50.
	FailureRate float64
	// MinimumCalls is how many calls the window must hold before its rate is
	// judged. Default 10.
	MinimumCalls int
	// SlowCallThreshold: a call that takes at least this long counts as a
	// failure (and a slow call). Default 0: off.
	SlowCallThreshold time.Duration
	// HalfOpenMaxCalls is how many probes may run at once in half-open.
	// Default 1.
	HalfOpenMaxCalls int
	// SuccessThreshold is how many probe successes close the breaker.
	// Default 1.
	SuccessThreshold int
	// ProbeTimeout is how long a half-open phase waits for its probes'
	// verdict (resilience4j's maxWaitDurationInHalfOpenState). Past it the
	// breaker goes back to open, as if a probe had failed
	// (ReasonProbeTimeout), so a probe whose caller lost its Token (no Done)
	// or that hangs does not keep the breaker half-open for good. Default:
	// twice CallTimeout when that is set (a probe that honours it has
	// reported by then), otherwise 60s.
	ProbeTimeout time.Duration
	// IsFailure says whether a non-nil error counts as a failure; when it
	// returns false the call counts as a success. Default: every non-nil
	// error is a failure. Either way, a context.Canceled returned while the
	// caller's own context is cancelled is ignored (not the service's fault).
	IsFailure func(error) bool
	// Clock is the time source. Default: the real clock. Give a TimerClock
	// to keep the rejection path off the clock with a clock of your own.
	Clock Clock
	// OnTransition, when set, is called after every transition, outside
	// any lock, one transition at a time and in generation order: on the
	// goroutine that made it, or on one that made a later transition while
	// it was delivering (so a transition's caller may return before its
	// listeners ran). It must be cheap and must not block or panic (a
	// non-blocking actor Send is the intended use). More listeners can be
	// added with Breaker.Subscribe.
	OnTransition func(Transition)
	// DisableTelemetry turns off the totals and the latency histogram.
	DisableTelemetry bool
	// LatencySampling times 1 call in N for the latency histogram, because
	// reading the clock is the dearest part of the telemetry: 25-50 ns per
	// read on a KVM guest, two per timed call, against ~10 ns for the rest
	// of a call. 0 means 32 (the clock then costs under 2 ns a call; at 8 it
	// was the largest part of Call); 1 times every call; other values are
	// rounded up to a power of two. When SlowCallThreshold is set every call
	// is timed anyway, and the histogram counts them all.
	LatencySampling int
}

// Defaults of the zero Settings fields.
const (
	DefaultFailureThreshold = 5
	DefaultRecoveryTimeout  = 30 * time.Second
	DefaultWindowSize       = 100
	DefaultWindowDuration   = 60 * time.Second
	DefaultFailureRate      = 50.0
	DefaultMinimumCalls     = 10
	DefaultHalfOpenMaxCalls = 1
	DefaultSuccessThreshold = 1
	DefaultLatencySampling  = 32
	DefaultProbeTimeout     = 60 * time.Second
)

// Validate reports settings that are out of range (negative counts or
// durations, an unknown mode, a failure rate outside 0..100). New does not
// fail: it replaces such values with their defaults.
func (s Settings) Validate() error {
	var errs []error
	neg := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%w: %s must not be negative (got %d)", ErrSettings, name, v))
		}
	}
	neg("failure_threshold", int64(s.FailureThreshold))
	neg("recovery_timeout", int64(s.RecoveryTimeout))
	neg("call_timeout", int64(s.CallTimeout))
	neg("window_size", int64(s.WindowSize))
	neg("window_duration", int64(s.WindowDuration))
	neg("minimum_calls", int64(s.MinimumCalls))
	neg("slow_call_threshold", int64(s.SlowCallThreshold))
	neg("half_open_max_calls", int64(s.HalfOpenMaxCalls))
	neg("success_threshold", int64(s.SuccessThreshold))
	neg("probe_timeout", int64(s.ProbeTimeout))
	if s.Mode > Rate {
		errs = append(errs, fmt.Errorf("%w: unknown mode %d", ErrSettings, s.Mode))
	}
	if s.WindowType > TimeWindow {
		errs = append(errs, fmt.Errorf("%w: unknown window type %d", ErrSettings, s.WindowType))
	}
	if s.FailureRate < 0 || s.FailureRate > 100 || s.FailureRate != s.FailureRate {
		errs = append(errs, fmt.Errorf("%w: failure_rate must be in (0, 100] (got %v)", ErrSettings, s.FailureRate))
	}
	return errors.Join(errs...)
}

// withDefaults replaces zero and out-of-range values with defaults.
func (s Settings) withDefaults() Settings {
	if s.FailureThreshold <= 0 {
		s.FailureThreshold = DefaultFailureThreshold
	}
	if s.RecoveryTimeout <= 0 {
		s.RecoveryTimeout = DefaultRecoveryTimeout
	}
	if s.CallTimeout < 0 {
		s.CallTimeout = 0
	}
	if s.Mode > Rate {
		s.Mode = Consecutive
	}
	if s.WindowType > TimeWindow {
		s.WindowType = CountWindow
	}
	if s.WindowSize <= 0 {
		s.WindowSize = DefaultWindowSize
	}
	if s.WindowDuration <= 0 {
		s.WindowDuration = DefaultWindowDuration
	}
	if !(s.FailureRate > 0 && s.FailureRate <= 100) {
		s.FailureRate = DefaultFailureRate
	}
	if s.MinimumCalls <= 0 {
		s.MinimumCalls = DefaultMinimumCalls
	}
	if s.SlowCallThreshold < 0 {
		s.SlowCallThreshold = 0
	}
	if s.HalfOpenMaxCalls <= 0 {
		s.HalfOpenMaxCalls = DefaultHalfOpenMaxCalls
	}
	if s.SuccessThreshold <= 0 {
		s.SuccessThreshold = DefaultSuccessThreshold
	}
	if s.ProbeTimeout <= 0 {
		s.ProbeTimeout = DefaultProbeTimeout
		if s.CallTimeout > 0 {
			s.ProbeTimeout = 2 * s.CallTimeout
		}
	}
	switch {
	case s.LatencySampling <= 0:
		s.LatencySampling = DefaultLatencySampling
	case s.LatencySampling > 1<<20:
		s.LatencySampling = 1 << 20
	default:
		s.LatencySampling = 1 << bits.Len(uint(s.LatencySampling-1))
	}
	return s
}
