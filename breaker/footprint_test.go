package breaker

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
)

// An idle breaker does not hold its telemetry stripes (2 KiB at 2 CPUs):
// they are allocated by its first call. A node configures thousands of
// breakers, most of them idle.
func TestIdleBreakerHasNoStripes(t *testing.T) {
	const n = 200
	bs := make([]*Breaker, n)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range bs {
		bs[i] = New("idle", Settings{})
	}
	runtime.ReadMemStats(&after)
	perBreaker := (after.TotalAlloc - before.TotalAlloc) / n
	// A stripe set has at least 8 stripes of 256 B.
	if set := uint64(8 * 256); perBreaker >= set {
		t.Errorf("New allocates %d B per breaker, at least a stripe set (%d B)", perBreaker, set)
	}
	for _, b := range bs {
		if st := b.Stats(); st.Calls != 0 || st.Rejections != 0 || st.Latency.Count != 0 || len(st.Latency.Counts) != nBuckets {
			t.Fatalf("idle breaker's stats: %+v", st)
		}
	}
	runtime.KeepAlive(bs)
}

// The first calls race to allocate the stripes: every outcome is counted
// whichever allocation wins.
func TestFirstCallsCountExactly(t *testing.T) {
	const callers, rounds = 8, 50
	errBoom := errors.New("boom")
	for range rounds {
		b := New("first", Settings{FailureThreshold: 1 << 30, LatencySampling: 1})
		var start, done sync.WaitGroup
		start.Add(1)
		for i := range callers {
			done.Go(func() {
				start.Wait()
				var err error
				if i%2 == 1 {
					err = errBoom
				}
				_ = b.Call(context.Background(), func(context.Context) error { return err })
			})
		}
		start.Done()
		done.Wait()
		st := b.Stats()
		if st.Successes != callers/2 || st.Failures != callers/2 || st.Latency.Count != callers {
			t.Fatalf("after %d first calls: successes %d, failures %d, timed %d", callers, st.Successes, st.Failures, st.Latency.Count)
		}
		b.Reset()
		if st := b.Stats(); st.Calls != 0 || st.Latency.Count != 0 {
			t.Fatalf("after Reset: %+v", st)
		}
	}
}
