package s5

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrQueueFull is matched by the error of a handed-off action (shed_pool,
// webhook) that was dropped because its queue was full.
var ErrQueueFull = errors.New("s5: action queue full")

// DispatchStats are the counters of one of S5's bounded worker pools.
type DispatchStats struct {
	Queued  uint64 `json:"queued"`  // accepted into the queue
	Done    uint64 `json:"done"`    // finished without error
	Failed  uint64 `json:"failed"`  // finished with an error
	Dropped uint64 `json:"dropped"` // refused: the queue was full
}

type dispatchCounters struct {
	queued, done, failed, dropped atomic.Uint64
}

func (c *dispatchCounters) snapshot() DispatchStats {
	return DispatchStats{c.queued.Load(), c.done.Load(), c.failed.Load(), c.dropped.Load()}
}

// job is one handed-off action. Its error feeds the counters; report, called
// once they are updated, publishes its decision, so that whoever sees the
// decision sees the counters that include it.
type job func(ctx context.Context) (report func(), err error)

// dispatcher is a fixed set of worker goroutines behind a bounded queue. The
// policy actor owns it: it starts with the actor and stops with it, so a
// restart costs the queued jobs but leaks no goroutine. Offer never blocks.
type dispatcher struct {
	q      chan job
	cancel context.CancelFunc
	wg     sync.WaitGroup
	stats  *dispatchCounters
}

func startDispatcher(workers, queue int, stats *dispatchCounters) *dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	d := &dispatcher{q: make(chan job, queue), cancel: cancel, stats: stats}
	d.wg.Add(workers)
	for range workers {
		go d.work(ctx)
	}
	return d
}

func (d *dispatcher) work(ctx context.Context) {
	defer d.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-d.q:
			if ctx.Err() != nil {
				return
			}
			report, err := j(ctx)
			if err != nil {
				d.stats.failed.Add(1)
			} else {
				d.stats.done.Add(1)
			}
			report()
		}
	}
}

// offer queues j, or reports false (and counts a drop) when the queue is
// full.
func (d *dispatcher) offer(j job) bool {
	// Counted before the send, so that Queued >= Done + Failed whenever the
	// counters are read.
	d.stats.queued.Add(1)
	select {
	case d.q <- j:
		return true
	default:
		d.stats.queued.Add(^uint64(0))
		d.stats.dropped.Add(1)
		return false
	}
}

// stop cancels the jobs in flight (their context ends) and waits for the
// workers to return. Queued jobs are abandoned.
func (d *dispatcher) stop() {
	d.cancel()
	d.wg.Wait()
}
