package breaker

import (
	"sync/atomic"
	"time"
)

// countWindow holds the outcomes of the last n calls in a ring. Each slot
// is swapped atomically and the swap's old value corrects the totals, so
// the totals stay exact under concurrent writers. A window belongs to one
// closed phase; a new phase gets a new window, which is how a transition
// clears it without racing late writers.
type countWindow struct {
	n      uint64
	next   atomic.Uint64
	filled atomic.Int64
	fails  atomic.Int64
	slots  []atomic.Uint32 // slotEmpty, slotOK or slotFail
}

const (
	slotEmpty uint32 = iota
	slotOK
	slotFail
)

func newCountWindow(n int) *countWindow {
	return &countWindow{n: uint64(n), slots: make([]atomic.Uint32, n)}
}

func (w *countWindow) record(failed bool) {
	v := slotOK
	if failed {
		v = slotFail
	}
	i := w.next.Add(1) - 1
	old := w.slots[i%w.n].Swap(v)
	if old == slotEmpty {
		w.filled.Add(1)
	}
	switch {
	case v == slotFail && old != slotFail:
		w.fails.Add(1)
	case v != slotFail && old == slotFail:
		w.fails.Add(-1)
	}
}

func (w *countWindow) totals() (calls, fails int64) {
	return w.filled.Load(), w.fails.Load()
}

// timeWindow holds the calls of the last span in buckets. Each bucket is
// one word updated by compare-and-swap: the bucket's sequence number (24
// bits), its failures (20 bits) and its calls (20 bits). A bucket whose
// sequence number is not recent is empty. When a bucket's calls would
// overflow, both counts are halved, which keeps the rate.
type timeWindow struct {
	width   int64 // nanoseconds per bucket
	n       uint64
	buckets []atomic.Uint64
}

const (
	twCountBits = 20
	twCountMask = 1<<twCountBits - 1
	twSeqShift  = 2 * twCountBits
	twSeqMask   = 1<<24 - 1
)

func newTimeWindow(span time.Duration) *timeWindow {
	n := int64(span / time.Second)
	n = min(max(n, 10), 60)
	width := int64(span) / n
	if width <= 0 {
		width = 1
	}
	return &timeWindow{width: width, n: uint64(n), buckets: make([]atomic.Uint64, n)}
}

func (w *timeWindow) record(now int64, failed bool) {
	k := uint64(now / w.width)
	seq := k & twSeqMask
	b := &w.buckets[k%w.n]
	for {
		old := b.Load()
		var calls, fails uint64
		if oldSeq := old >> twSeqShift; oldSeq == seq {
			calls, fails = old&twCountMask, (old>>twCountBits)&twCountMask
		} else if d := (oldSeq - seq) & twSeqMask; old != 0 && d < twSeqMask/2 {
			return // the bucket already holds a later span: this outcome is too late for it
		}
		if calls == twCountMask {
			calls, fails = calls>>1, fails>>1
		}
		calls++
		if failed {
			fails++
		}
		if b.CompareAndSwap(old, seq<<twSeqShift|fails<<twCountBits|calls) {
			return
		}
	}
}

func (w *timeWindow) totals(now int64) (calls, fails int64) {
	k := uint64(now / w.width)
	for i := range w.buckets {
		v := w.buckets[i].Load()
		if v == 0 {
			continue
		}
		if age := (k - v>>twSeqShift) & twSeqMask; age < w.n {
			calls += int64(v & twCountMask)
			fails += int64((v >> twCountBits) & twCountMask)
		}
	}
	return calls, fails
}
