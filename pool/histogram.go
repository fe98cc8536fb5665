package pool

import (
	"sync/atomic"
	"time"
)

// waitBounds are the upper bounds of the checkout wait buckets. They are
// fixed so observing is a short scan and an atomic add, with no lock.
var waitBounds = [...]time.Duration{
	time.Microsecond,
	10 * time.Microsecond,
	100 * time.Microsecond,
	time.Millisecond,
	10 * time.Millisecond,
	100 * time.Millisecond,
	time.Second,
	10 * time.Second,
}

type histogram struct {
	counts [len(waitBounds) + 1]atomic.Uint64 // last: above every bound
	sum    atomic.Int64                       // nanoseconds
}

func (h *histogram) observe(d time.Duration) {
	i := 0
	for i < len(waitBounds) && d > waitBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	if d > 0 {
		h.sum.Add(int64(d))
	}
}

// Histogram is a snapshot of the checkout wait distribution, shaped like a
// Prometheus histogram: Buckets are cumulative (each counts the waits at or
// below its bound) and Count includes the waits above the last bound.
type Histogram struct {
	Count   uint64        `json:"count"`
	Sum     time.Duration `json:"sum"`
	Buckets []Bucket      `json:"buckets"`
}

// Bucket counts the waits at or below LE.
type Bucket struct {
	LE    time.Duration `json:"le"`
	Count uint64        `json:"count"`
}

func (h *histogram) snapshot() Histogram {
	out := Histogram{Sum: time.Duration(h.sum.Load()), Buckets: make([]Bucket, len(waitBounds))}
	var cum uint64
	for i, b := range waitBounds {
		cum += h.counts[i].Load()
		out.Buckets[i] = Bucket{LE: b, Count: cum}
	}
	out.Count = cum + h.counts[len(waitBounds)].Load()
	return out
}
