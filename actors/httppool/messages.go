package httppool

import (
	"net/http"
	"time"

	"github.com/viable-systems/vsm-connections/balancer"
)

// DoRequest asks the pool actor to make one HTTP call (as Client.Do). The
// reply, sent to the sender, is a *Response or a *Failure. The work runs
// on a goroutine of the actor's, never in its mailbox; its context ends at
// Deadline (if set) or when the actor stops. Do not modify a message once
// sent.
type DoRequest struct {
	Method   string
	URL      string
	Header   http.Header
	Body     []byte
	Breaker  string
	Deadline time.Time
}

// Failure is the reply to a request that failed; Err matches the errors
// documented on Client.Do, ErrBusy or context.DeadlineExceeded.
type Failure struct {
	Err error
}

// GetStats asks for the pool's stats; the reply is a *StatsResult.
type GetStats struct{}

// ResizePool resizes the pool (update_pool); the reply is a *StatsResult
// with the new figures, or a *Failure (invalid size, pool closed).
type ResizePool struct {
	Size int
}

// StatsResult is the reply to GetStats and ResizePool.
type StatsResult struct {
	Stats Stats
}

// endpointChanged is sent by the balancer's listener.
type endpointChanged struct{ n balancer.Notification }

// ejectionDue is sent by the ejection timer.
type ejectionDue struct{}
