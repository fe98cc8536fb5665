package event

import (
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
	buffer int
	filter func(Event) bool
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
}

// Subscribe calls fn, on a goroutine of its own, for every Event published on
// es after the call. fn is never called concurrently with itself. When fn
// falls behind by more than the buffer, events are dropped and counted.
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
	}
	filter := cfg.filter
	s.sub = es.SubscribeWithPredicate(func(msg any) {
		ev := msg.(Event)
		if filter != nil && !filter(ev) {
			return
		}
		select {
		case s.queue <- ev:
		default:
			s.dropped.Add(1)
		}
	}, func(msg any) bool {
		_, ok := msg.(Event)
		return ok
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
			fn(ev)
			s.handled.Add(1)
		}
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

// Dropped is the number of events lost because the queue was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Delivered is the number of events fn has returned from.
func (s *Subscription) Delivered() uint64 { return s.handled.Load() }
