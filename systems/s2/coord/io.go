package coord

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// ioQueue runs a coordinator's store operations off its mailbox, one at a
// time and in the order they were queued (so Records leave in the order the
// node decided them and a lease request never overtakes the verdict queued
// before it). Each operation runs under its own timeout and returns the
// message that carries its result back to the actor (nil: none).
//
// The queue belongs to the state a coordinator's incarnations share: an
// operation running when the actor restarts finishes, and its result waits
// in the mailbox for the next incarnation.
type ioQueue struct {
	timeout time.Duration
	send    func(any) // to the actor

	mu      sync.Mutex
	ops     []func(context.Context) any
	closing bool
	base    context.Context // parent of every operation's context; bounded once closing
	cancel  context.CancelFunc

	wake chan struct{}
	done chan struct{}
	n    atomic.Int32 // queued or running
}

// discarder is a result that holds a resource (a subscription): when the
// actor is gone and the result cannot be delivered, it is released.
type discarder interface{ discard() }

func newIOQueue(timeout time.Duration, send func(any)) *ioQueue {
	q := &ioQueue{timeout: timeout, send: send, wake: make(chan struct{}, 1), done: make(chan struct{})}
	q.base, q.cancel = context.WithCancel(context.Background())
	go q.run()
	return q
}

// do queues op. After close it does nothing.
func (q *ioQueue) do(op func(context.Context) any) {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return
	}
	q.ops = append(q.ops, op)
	q.n.Add(1)
	q.mu.Unlock()
	q.signal()
}

func (q *ioQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *ioQueue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		if len(q.ops) == 0 {
			closing := q.closing
			q.mu.Unlock()
			if closing {
				return
			}
			<-q.wake
			continue
		}
		op := q.ops[0]
		q.ops[0] = nil
		q.ops = q.ops[1:]
		base := q.base
		q.mu.Unlock()

		ctx, cancel := context.WithTimeout(base, q.timeout)
		out := op(ctx)
		cancel()

		q.mu.Lock()
		closing := q.closing
		q.mu.Unlock()
		switch {
		case out == nil:
		case closing:
			// The actor is stopping: nobody will read the result.
			if d, ok := out.(discarder); ok {
				d.discard()
			}
		default:
			q.send(out)
		}
		// Counted down after the result is in the mailbox: an actor that
		// reads queued() == 0 has handled every result.
		q.n.Add(-1)
	}
}

// close runs the operations still queued, then final, all within one
// timeout, and waits for them (bounded: every operation honours its
// context). Results are not delivered any more. The operation running when
// close is called keeps its own timeout.
func (q *ioQueue) close(final ...func(context.Context) any) {
	q.mu.Lock()
	stop := func() {}
	if !q.closing {
		q.closing = true
		q.ops = append(q.ops, final...)
		q.n.Add(int32(len(final)))
		stop = q.cancel
		q.base, q.cancel = context.WithTimeout(q.base, q.timeout)
	}
	q.mu.Unlock()
	q.signal()
	<-q.done
	q.mu.Lock()
	q.cancel()
	q.mu.Unlock()
	stop()
}

// queued is the number of operations queued or running, or whose result
// has not reached the mailbox yet.
func (q *ioQueue) queued() int { return int(q.n.Load()) }
