package breakeractor

import (
	"context"

	"time"

	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/internal/offload"
)

// GetStats asks for the breaker's stats; the reply is a *StatsResult.
type GetStats struct{}

// OpenBreaker forces the breaker open until it is closed or reset; the reply
// is a *StatsResult with the new state.
type OpenBreaker struct{}

// CloseBreaker closes the breaker; the reply is a *StatsResult.
type CloseBreaker struct{}

// ResetBreaker closes the breaker and zeroes its counters; the reply is a
// *StatsResult.
type ResetBreaker struct{}

// StatsResult is the reply to GetStats and to the manual commands.
type StatsResult struct {
	Stats cb.Stats
}

// Call runs Fn through the breaker, on a goroutine of the actor's, and
// replies with a *CallResult. Fn's context ends at Deadline (if set) or when
// the actor stops. Local only: a func cannot cross nodes.
type Call struct {
	Fn       func(context.Context) error
	Deadline time.Time
}

// CallResult is the reply to Call. Err is Fn's error, a rejection matching
// cb.ErrOpen, a timeout matching context.DeadlineExceeded, ErrBusy, or an
// error matching ErrPanicked.
type CallResult struct {
	Err error
}

var (
	// ErrBusy is the reply to a Call when Env.MaxCalls calls are running.
	ErrBusy = offload.ErrBusy
	// ErrPanicked is matched when a Call's Fn panicked; the panic counts as a
	// failure of the breaker and does not crash the node.
	ErrPanicked = offload.ErrPanicked
)

// transitioned is sent to the actor by the breaker's listener.
type transitioned struct{ t cb.Transition }

// recoveryDue is sent by the recovery timer.
type recoveryDue struct{}
