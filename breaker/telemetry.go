package breaker

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// latencyBounds are the upper bounds of the latency histogram's buckets; a
// last bucket counts the calls slower than the largest bound.
var latencyBounds = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

const nBuckets = len(latencyBounds) + 1

// LatencyBounds returns the upper bounds of the latency histogram's buckets
// (50µs to 10s); a last bucket counts the calls slower than the largest.
func LatencyBounds() []time.Duration { return append([]time.Duration(nil), latencyBounds[:]...) }

// stripe is one shard of the telemetry counters. A goroutine updates the
// stripe picked by hashing the address of its stack, so parallel callers
// rarely share a cache line (a random pick costs ~30 ns here, the hash
// ~1 ns); Stats sums the stripes.
type stripe struct {
	successes  atomic.Uint64
	failures   atomic.Uint64
	ignored    atomic.Uint64
	rejections atomic.Uint64
	timeouts   atomic.Uint64
	slow       atomic.Uint64
	sum        atomic.Int64
	hist       [nBuckets]atomic.Uint64
	_          [256 - (7+nBuckets)*8]byte // a stripe spans whole cache lines
}

// telemetry's stripes are allocated by the first call that records
// anything: they are 2 KiB at 2 CPUs (8 stripes of 256 B), most of an
// idle breaker's memory, and a node with 10,000 configured breakers has
// most of them idle. Until then every counter reads zero.
type telemetry struct {
	set   atomic.Pointer[stripes]
	n     int    // stripes in a set; a power of two
	mask  uint64 // n-1
	every uint64 // 1 call in every is timed; a power of two
}

type stripes struct{ s []stripe }

func newTelemetry(every int) *telemetry {
	n := 1 << bits.Len(uint(runtime.GOMAXPROCS(0)-1)) // next power of two
	n = min(max(2*n, 8), 64)                          // two goroutines share a stripe with odds 1/n
	return &telemetry{n: n, mask: uint64(n - 1), every: uint64(every)}
}

// stripes returns the set, allocating it on first use. Two first callers
// may both allocate; the one whose CompareAndSwap loses drops its set
// before writing to it and uses the winner's, so no count is lost.
func (t *telemetry) stripes() []stripe {
	if set := t.set.Load(); set != nil {
		return set.s
	}
	set := &stripes{s: make([]stripe, t.n)}
	if t.set.CompareAndSwap(nil, set) {
		return set.s
	}
	return t.set.Load().s
}

// pick hashes the address of a local variable: goroutine stacks are
// separate allocations of at least 2 KiB (the runtime's smallest stack),
// so the bits above 11 differ between goroutines. Above 13, two small
// stacks in one 8 KiB block shared a stripe, which put both goroutines of
// a parallel benchmark on one cache line in most runs. For one goroutine
// the bits can differ between call depths; any stripe counts exactly, and
// a Token keeps the one its Allow picked.
func (t *telemetry) pick() *stripe {
	var x byte
	h := uint64(uintptr(unsafe.Pointer(&x))) >> 11
	// murmur3's finaliser: neighbouring stacks land on unrelated stripes.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return &t.stripes()[h&t.mask]
}

// loaded is the set, or nil while nothing was recorded.
func (t *telemetry) loaded() []stripe {
	if set := t.set.Load(); set != nil {
		return set.s
	}
	return nil
}

// sample reports whether the call being started should be timed: when the
// calls its stripe has finished are a multiple of every. Plain loads of a
// line the caller writes anyway cost less than a counter of its own; two
// callers that read the same count both time their calls, which a sample
// can afford.
func (t *telemetry) sample() bool {
	if t.every == 1 {
		return true
	}
	return t.due(t.pick())
}

// due is sample on the stripe s the caller picked.
func (t *telemetry) due(s *stripe) bool {
	return t.every == 1 || (s.successes.Load()+s.failures.Load()+s.ignored.Load())&(t.every-1) == 0
}

func (s *stripe) observe(d int64) {
	i := 0
	for i < len(latencyBounds) && time.Duration(d) > latencyBounds[i] {
		i++
	}
	s.hist[i].Add(1)
	s.sum.Add(d)
}

func (t *telemetry) reset() {
	all := t.loaded()
	for i := range all {
		s := &all[i]
		s.successes.Store(0)
		s.failures.Store(0)
		s.ignored.Store(0)
		s.rejections.Store(0)
		s.timeouts.Store(0)
		s.slow.Store(0)
		s.sum.Store(0)
		for j := range s.hist {
			s.hist[j].Store(0)
		}
	}
}

// Histogram is a latency distribution with fixed bounds.
type Histogram struct {
	// Bounds are the buckets' upper bounds (LatencyBounds()), in nanoseconds in
	// JSON.
	Bounds []time.Duration `json:"bounds_ns"`
	// Counts has one more element than Bounds: Counts[i] is the number of
	// calls that took at most Bounds[i] and more than Bounds[i-1]; the last
	// counts the calls slower than every bound. Counts are not cumulative.
	Counts []uint64 `json:"counts"`
	// Count is the sum of Counts.
	Count uint64 `json:"count"`
	// Sum is the total latency of the counted calls.
	Sum time.Duration `json:"sum_ns"`
	// SampleEvery: 1 call in SampleEvery is timed and counted here
	// (Settings.LatencySampling).
	SampleEvery int `json:"sample_every"`
}

func (t *telemetry) fill(st *Stats) {
	h := Histogram{Bounds: LatencyBounds(), Counts: make([]uint64, nBuckets), SampleEvery: int(t.every)}
	all := t.loaded()
	for i := range all {
		s := &all[i]
		st.Successes += s.successes.Load()
		st.Failures += s.failures.Load()
		st.Ignored += s.ignored.Load()
		st.Rejections += s.rejections.Load()
		st.Timeouts += s.timeouts.Load()
		st.SlowCalls += s.slow.Load()
		h.Sum += time.Duration(s.sum.Load())
		for j := range s.hist {
			c := s.hist[j].Load()
			h.Counts[j] += c
			h.Count += c
		}
	}
	st.Calls = st.Successes + st.Failures + st.Ignored
	st.Latency = h
}
