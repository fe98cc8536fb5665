package httpadapter

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
	ErrBodyTooLarge = errors.New("httpadapter: response body too large")
	// ErrStatus is matched by every *StatusError: the reply's status was
	// classified as a failure or as worth retrying and no attempt was left.
	ErrStatus = errors.New("httpadapter: unsuccessful status")
	// ErrTimeout: an attempt ran past the pool's per-request timeout. Such an
	// error matches context.DeadlineExceeded too.
	ErrTimeout = errors.New("httpadapter: request timed out")
	// ErrClosed: the pool was closed.
	ErrClosed = errors.New("httpadapter: pool closed")
	// ErrNoPool: the request names no configured pool (or its absolute URL
	// matches none).
	ErrNoPool = errors.New("httpadapter: no such pool")
	// ErrNoBreaker: the request names a breaker that does not exist.
	ErrNoBreaker = errors.New("httpadapter: no such circuit breaker")
	// ErrBusy: the pool actor already runs its maximum of message requests.
	ErrBusy = offload.ErrBusy
	// ErrBadRequest: the request cannot be sent (bad URL, relative URL on a
	// pool without endpoints...). It is never retried.
	ErrBadRequest = errors.New("httpadapter: invalid request")
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
	return fmt.Sprintf("httpadapter: pool %s: %s %s: %d %s", e.Pool, e.Method, e.URL,
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
	return fmt.Sprintf("httpadapter: pool %s: %s %s: %v", e.Pool, e.Method, e.URL, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// timeoutError is an attempt's own deadline firing; it matches ErrTimeout
// and context.DeadlineExceeded.
type timeoutError struct {
	d   time.Duration
	err error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("timed out after %v: %v", e.d, e.err)
}

func (e *timeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}
func (e *timeoutError) Unwrap() error { return e.err }

func asStatusError(err error) (*StatusError, bool) {
	var se *StatusError
	ok := errors.As(err, &se)
	return se, ok
}
