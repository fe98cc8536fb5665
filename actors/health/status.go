package health

import (
	"fmt"
	"slices"
	"time"
)

// Status is what a checker believes about its target.
//
//	          N successes in a row              M failures in a row
//	Unknown ─────────────────────► Healthy ◄───────────────────────► Unhealthy
//	   │                              ▲        N successes in a row      ▲
//	   └──────────────────────────────┼──────────────────────────────────┘
//	                                  M failures in a row (from Unknown)
//
// N is Spec.HealthyThreshold, M Spec.UnhealthyThreshold. A checker is
// Unknown until one threshold is reached; it never goes back to Unknown.
type Status int8

const (
	Unknown Status = iota
	Healthy
	Unhealthy
)

var statusNames = [...]string{Unknown: "unknown", Healthy: "healthy", Unhealthy: "unhealthy"}

func (s Status) String() string {
	if s < Unknown || s > Unhealthy {
		return fmt.Sprintf("status(%d)", int8(s))
	}
	return statusNames[s]
}

// MarshalText writes the status's name, so JSON carries "healthy" etc.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Result is the outcome of one probe.
type Result struct {
	Check   string        `json:"check"`
	Healthy bool          `json:"healthy"`
	Latency time.Duration `json:"latency"`
	At      time.Time     `json:"at"`
	// Err is the probe's failure (nil on success): it matches ErrTimeout
	// and context.DeadlineExceeded when the probe ran past Spec.Timeout,
	// ErrPanicked when a custom check panicked, ErrStatus, ErrBody or
	// ErrNotServing for the protocol checks.
	Err error `json:"-"`
	// Error is Err's text, for JSON.
	Error string `json:"error,omitempty"`
	// Status is the checker's status once this result was counted.
	Status Status `json:"status"`
}

// DefaultBuckets are the upper bounds of the latency histogram (the last
// bucket, above them all, is implicit).
var DefaultBuckets = []time.Duration{
	time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// Histogram counts probe latencies, for telemetry to export (e.g. as a
// Prometheus const histogram: cumulate Counts over Bounds).
type Histogram struct {
	// Bounds are the buckets' upper bounds (inclusive), ascending.
	Bounds []time.Duration `json:"bounds"`
	// Counts has len(Bounds)+1 entries: Counts[i] counts latencies in
	// (Bounds[i-1], Bounds[i]], the last one those above every bound. Not
	// cumulative.
	Counts []uint64      `json:"counts"`
	Count  uint64        `json:"count"`
	Sum    time.Duration `json:"sum"`
}

func newHistogram(bounds []time.Duration) Histogram {
	return Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds)+1)}
}

func (h *Histogram) observe(d time.Duration) {
	i, _ := slices.BinarySearch(h.Bounds, d)
	h.Counts[i]++
	h.Count++
	h.Sum += d
}

func (h Histogram) clone() Histogram {
	h.Counts = slices.Clone(h.Counts)
	return h // Bounds are never written: shared
}

// RecentResults is how many results a Snapshot keeps.
const RecentResults = 10

// Snapshot is a checker's published state. It is immutable: Status and
// AllStatus hand out copies, safe to keep.
type Snapshot struct {
	Name     string `json:"name"`
	Kind     Kind   `json:"kind"`
	Target   string `json:"target,omitempty"`
	Critical bool   `json:"critical"`
	Status   Status `json:"status"`
	// Since is when Status was last entered (zero while Unknown).
	Since                time.Time `json:"since"`
	ConsecutiveSuccesses int       `json:"consecutive_successes"`
	ConsecutiveFailures  int       `json:"consecutive_failures"`
	Successes            uint64    `json:"successes"`
	Failures             uint64    `json:"failures"`
	// Recent are the last RecentResults results, oldest first.
	Recent  []Result  `json:"recent"`
	Latency Histogram `json:"latency"`
}

// Last is the latest result; ok is false before the first one.
func (s Snapshot) Last() (r Result, ok bool) {
	if len(s.Recent) == 0 {
		return Result{}, false
	}
	return s.Recent[len(s.Recent)-1], true
}

func (s Snapshot) clone() Snapshot {
	s.Recent = slices.Clone(s.Recent)
	s.Latency = s.Latency.clone()
	return s
}
