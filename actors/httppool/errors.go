package httppool

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/viable-systems/vsm-connections/internal/offload"
)

// Errors matched with errors.Is.
var (
	// ErrBodyTooLarge: the response body was longer than the pool's
	// MaxResponseBody. The response is not returned: never a truncated body.
	ErrBodyTooLarge = errors.New("httppool: response body too large")
	// ErrStatus is matched by every *StatusError: the reply's status was
	// classified as a failure or as worth retrying and no attempt was left.
	ErrStatus = errors.New("httppool: unsuccessful status")
	// ErrTimeout: an attempt ran past one of the pool's limits: its timeout,
	// the request's Timeout, the breaker's call_timeout or a transport
	// timeout (not the caller's own deadline). Such an error is a
	// *TimeoutError, which names the limit, and matches
	// context.DeadlineExceeded too.
	ErrTimeout = errors.New("httppool: request timed out")
	// ErrClosed: the pool was closed.
	ErrClosed = errors.New("httppool: pool closed")
	// ErrNoPool: the request names no configured pool (or its absolute URL
	// matches none).
	ErrNoPool = errors.New("httppool: no such pool")
	// ErrNoBreaker: the request names a breaker that does not exist.
	ErrNoBreaker = errors.New("httppool: no such circuit breaker")
	// ErrBusy: the pool actor already runs its maximum of message requests.
	ErrBusy = offload.ErrBusy
	// ErrBadRequest: the request cannot be sent (bad URL, relative URL on a
	// pool without endpoints...). It is never retried.
	ErrBadRequest = errors.New("httppool: invalid request")
)

// StatusError is returned when a reply's status was classified as a
// failure or as worth retrying (by default 5xx and 429) and no attempt was
// left. Response is the reply, body included. It matches ErrStatus.
type StatusError struct {
	Pool     string
	Method   string
	URL      string
	Response *Response
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("httppool: pool %s: %s %s: %d %s", e.Pool, e.Method, e.URL,
		e.Response.Status, http.StatusText(e.Response.Status))
}

// Is matches ErrStatus.
func (e *StatusError) Is(target error) bool { return target == ErrStatus }

// RetryAfter is the delay asked for by a Retry-After header (seconds or an
// HTTP date), 0 when there is none. package fault uses it as the next
// delay, so a 429 or 503 with Retry-After is retried when the server said,
// capped at the retry's MaxDelay (fault.MaxRetryAfter raises the cap).
func (e *StatusError) RetryAfter() time.Duration {
	return retryAfter(e.Response.Header.Get("Retry-After"), time.Now())
}

// MaxRetryAfter caps the delay a Retry-After header can ask for.
const MaxRetryAfter = 24 * time.Hour

func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s <= 0 {
			return 0
		}
		if s >= int(MaxRetryAfter/time.Second) {
			return MaxRetryAfter // also keeps the product from overflowing
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, MaxRetryAfter)
		}
	}
	return 0
}

// RequestError is returned when a request got no usable reply: the
// connection failed, the attempt timed out, the body could not be read or
// was too large. It unwraps to the cause (a net error, ErrTimeout and
// context.DeadlineExceeded, ErrBodyTooLarge...).
type RequestError struct {
	Pool     string
	Method   string
	URL      string
	Endpoint string // host:port the request went to
	Err      error
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("httppool: pool %s: %s %s: %v", e.Pool, e.Method, e.URL, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// Limit names the bound that ended an attempt in a *TimeoutError.
type Limit uint8

const (
	// LimitPool is the pool's per-attempt timeout (Config.Timeout, the
	// pool's timeout: in the config).
	LimitPool Limit = iota + 1
	// LimitRequest is the request's own Timeout (Request.Timeout).
	LimitRequest
	// LimitBreaker is the call_timeout of the circuit breaker guarding the
	// request (breaker.Settings.CallTimeout).
	LimitBreaker
	// LimitCaller is the deadline of the caller's context.
	LimitCaller
	// LimitTransport is one of the transport's own timeouts: dial
	// (DialTimeout), TLS handshake (TLSHandshakeTimeout) or response header
	// (ResponseHeaderTimeout, when set below Timeout).
	LimitTransport
)

func (l Limit) String() string {
	switch l {
	case LimitPool:
		return "pool timeout"
	case LimitRequest:
		return "request timeout"
	case LimitBreaker:
		return "breaker call_timeout"
	case LimitCaller:
		return "caller deadline"
	case LimitTransport:
		return "transport timeout"
	}
	return fmt.Sprintf("limit(%d)", uint8(l))
}

// TimeoutError is an attempt that ran out of time; Limit says which bound
// fired first, Timeout its value. errors.Is matches context.DeadlineExceeded
// always, and ErrTimeout for the pool's own limits (every Limit but
// LimitCaller: a caller's deadline passing is the caller's affair, as
// before). With LimitBreaker, Err is a *breaker.TimeoutError naming the
// breaker (so errors.Is matches breaker.ErrTimeout, and the breaker counts
// the attempt as a timeout); otherwise Err is the exchange's own error.
type TimeoutError struct {
	Limit Limit
	// Timeout is the limit's value: for LimitCaller the time the caller's
	// deadline left when the attempt began; 0 for LimitTransport (the error
	// says which of the transport's timeouts it was).
	Timeout time.Duration
	// Breaker names the breaker for LimitBreaker.
	Breaker string
	Err     error
}

func (e *TimeoutError) Error() string {
	switch e.Limit {
	case LimitBreaker:
		return fmt.Sprintf("timed out: %v", e.Err) // the breaker's error names it and its limit
	case LimitTransport:
		return fmt.Sprintf("timed out: %v: %v", e.Limit, e.Err)
	case LimitCaller:
		return fmt.Sprintf("timed out: %v (%v left): %v", e.Limit, e.Timeout, e.Err)
	}
	return fmt.Sprintf("timed out: %v %v: %v", e.Limit, e.Timeout, e.Err)
}

// Is matches context.DeadlineExceeded, and ErrTimeout unless Limit is
// LimitCaller.
func (e *TimeoutError) Is(target error) bool {
	return target == context.DeadlineExceeded || target == ErrTimeout && e.Limit != LimitCaller
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// limitCause is the cause of an attempt context's own timer, so that
// context.Cause tells it from the caller's deadline even when both passed
// by the time the attempt looks. A byte-sized integer, so that making one
// an error allocates nothing.
type limitCause Limit

func (c limitCause) Error() string        { return "context deadline exceeded (" + Limit(c).String() + ")" }
func (c limitCause) Is(target error) bool { return target == context.DeadlineExceeded }

func asStatusError(err error) (*StatusError, bool) {
	var se *StatusError
	ok := errors.As(err, &se)
	return se, ok
}
