package httppool

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/viable-systems/vsm-connections/fault"
)

// Request is one HTTP call through a pool. It is a value: the adapter does
// not modify it, and Body is resent as is on every retry attempt.
type Request struct {
	// Method defaults to GET.
	Method string
	// URL is absolute ("https://api.internal:8443/v1/users") or relative to
	// the pool's base URL ("/v1/users?limit=10"): scheme and host are then
	// those of the endpoint the balancer picks.
	URL string
	// Header is sent as is; do not modify it while the call runs.
	Header http.Header
	// Body is the request body; nil sends none.
	Body []byte
	// Pool names the pool (node.Request only; a Client is one pool). Empty:
	// the pool one of whose endpoints is the absolute URL's host.
	Pool string
	// Breaker names a circuit breaker to use instead of the pool's own
	// (node.Request only, or a Client with Config.Breakers).
	Breaker string
	// Retry options come after the pool's defaults (fault_tolerance), so
	// they override them. A nil Retry retries idempotent methods (GET, HEAD,
	// OPTIONS, TRACE, PUT, DELETE) with the defaults and sends other methods
	// once; a non-nil Retry (even empty) retries any method.
	// fault.MaxAttempts(1) turns retries off.
	Retry []fault.Option
	// Timeout replaces the pool's per-attempt timeout when positive, longer
	// or shorter (the wait for a slot stays bounded by the pool's timeout
	// too). The breaker's call_timeout and the caller's context still bound
	// each attempt when they are tighter; see TimeoutError.
	Timeout time.Duration
	// Classify overrides the pool's Classifier when set.
	Classify Classifier
}

// Response is a complete reply: the body has been read (at most the pool's
// MaxResponseBody) and the connection given back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Endpoint is the host:port that answered.
	Endpoint string
	// Attempts is how many tries the call took (1 without retries).
	Attempts int
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("httppool: decode %d response: %w", r.Status, err)
	}
	return nil
}

// DecodeJSON decodes resp's body into v.
func DecodeJSON(resp *Response, v any) error { return resp.JSON(v) }

// Verdict is what an attempt's outcome means.
type Verdict struct {
	// Failure counts the outcome against the circuit breaker and the
	// endpoint (outlier ejection). Otherwise it counts as a success.
	Failure bool
	// Retry tries again (if attempts are left); when none is, the call
	// fails with the error or a *StatusError.
	Retry bool
}

// Classifier judges an attempt: status is the reply's status, or 0 with a
// non-nil err when there was no usable reply (connection refused or reset,
// timeout, unreadable body). A caller that cancelled its own context is
// never asked: that is neither a failure nor retried. An oversize body is
// never retried and is not a failure.
type Classifier func(status int, err error) Verdict

// DefaultClassifier: transport errors, timeouts and 5xx are failures and
// retried; 429 Too Many Requests is retried (after its Retry-After) but is
// not a failure of the service; every other status is a success, 4xx
// included (the caller's fault, not the service's).
func DefaultClassifier(status int, err error) Verdict {
	switch {
	case err != nil, status >= 500:
		return Verdict{Failure: true, Retry: true}
	case status == http.StatusTooManyRequests:
		return Verdict{Retry: true}
	}
	return Verdict{}
}

// idempotent methods are retried by default (RFC 9110 9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}
