package event

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
)

// DefaultBuffer is the queue length of a subscription when none is given.
const DefaultBuffer = 1024

// Option configures a subscription.
type Option interface{ apply(*subConfig) }

type subConfig struct {
	buffer  int
	filter  func(Event) bool
	onPanic func(ev Event, v any)
}

type optionFunc func(*subConfig)

func (f optionFunc) apply(c *subConfig) { f(c) }

// WithBuffer sets how many events may wait for a slow subscriber before
// further ones are dropped. n < 1 means DefaultBuffer.
func WithBuffer(n int) Option {
	return optionFunc(func(c *subConfig) {
		if n > 0 {
			c.buffer = n
		}
	})
}

// WithFilter delivers only the events for which keep returns true. keep runs
// on the publisher's goroutine, so it must be cheap and must not block.
func WithFilter(keep func(Event) bool) Option {
	return optionFunc(func(c *subConfig) { c.filter = keep })
}

// OnPanic calls fn, on the subscription's goroutine (or the publisher's, for
// a panicking WithFilter), with the event and the panic value whenever the
// subscriber's fn or filter panics. The panic is contained either way: the
// event is lost, counted by Panics, and delivery goes on with the next one.
// fn must not panic itself.
func OnPanic(fn func(ev Event, v any)) Option {
	return optionFunc(func(c *subConfig) { c.onPanic = fn })
}

// Subscription is one bounded subscriber of an event stream.
type Subscription struct {
	es      *eventstream.EventStream
	sub     *eventstream.Subscription
	queue   chan Event
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
	dropped atomic.Uint64
	handled atomic.Uint64
	panics  atomic.Uint64
	onPanic func(Event, any)
}

// Subscribe calls fn, on a goroutine of its own, for every Event published on
// es after the call. fn is never called concurrently with itself. When fn
// falls behind by more than the buffer, events are dropped and counted. A
// panic in fn (or in a WithFilter predicate) is recovered and counted
// (Panics, OnPanic): a faulty subscriber loses that event and never takes
// the publisher or the process down.
func Subscribe(es *eventstream.EventStream, fn func(Event), opts ...Option) *Subscription {
	cfg := subConfig{buffer: DefaultBuffer}
	for _, o := range opts {
		o.apply(&cfg)
	}
	s := &Subscription{
		es:      es,
		queue:   make(chan Event, cfg.buffer),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
		onPanic: cfg.onPanic,
	}
	filter := cfg.filter
	// Not SubscribeWithPredicate: it stores the predicate after the
	// subscription is visible to Publish, a data race with every event
	// published meanwhile (protoactor's eventstream).
	s.sub = es.Subscribe(func(msg any) {
		ev, ok := msg.(Event)
		if !ok {
			return
		}
		if filter != nil && !s.keep(filter, ev) {
			return
		}
		select {
		case s.queue <- ev:
		default:
			s.dropped.Add(1)
		}
	})
	go s.run(fn)
	return s
}

// SubscribePID sends every Event to pid from sender, through the same
// bounded queue as Subscribe, so an actor that falls behind loses events
// instead of slowing publishers.
func SubscribePID(es *eventstream.EventStream, sender actor.SenderContext, pid *actor.PID, opts ...Option) *Subscription {
	return Subscribe(es, func(ev Event) { sender.Send(pid, ev) }, opts...)
}

func (s *Subscription) run(fn func(Event)) {
	defer close(s.stopped)
	for {
		select {
		case <-s.done:
			return
		case ev := <-s.queue:
			if s.deliver(fn, ev) {
				s.handled.Add(1)
			}
		}
	}
}

// deliver runs fn, containing a panic: reports whether fn returned.
func (s *Subscription) deliver(fn func(Event), ev Event) (ok bool) {
	defer func() {
		if !ok {
			s.panicked(ev, recover())
		}
	}()
	fn(ev)
	return true
}

// keep runs the filter on the publisher's goroutine; a panicking filter
// drops the event instead of unwinding into the publisher.
func (s *Subscription) keep(filter func(Event) bool, ev Event) (keep bool) {
	ok := false
	defer func() {
		if !ok {
			s.panicked(ev, recover())
			keep = false
		}
	}()
	keep = filter(ev)
	ok = true
	return keep
}

func (s *Subscription) panicked(ev Event, v any) {
	s.panics.Add(1)
	if s.onPanic != nil {
		s.onPanic(ev, v)
	}
}

// Cancel stops delivery. It is idempotent and safe to call from inside fn;
// it does not wait for an fn already running (use Wait for that).
func (s *Subscription) Cancel() {
	s.once.Do(func() {
		s.es.Unsubscribe(s.sub)
		close(s.done)
	})
}

// Wait blocks until the subscription's goroutine has exited after Cancel.
func (s *Subscription) Wait() { <-s.stopped }

// WaitContext is Wait bounded by ctx: it returns ctx.Err() if fn is still
// running when ctx ends.
func (s *Subscription) WaitContext(ctx context.Context) error {
	select {
	case <-s.stopped:
		return nil
	default:
	}
	select {
	case <-s.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Dropped is the number of events lost because the queue was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Panics is the number of events whose fn or filter panicked.
func (s *Subscription) Panics() uint64 { return s.panics.Load() }

// Delivered is the number of events fn has returned from.
func (s *Subscription) Delivered() uint64 { return s.handled.Load() }
