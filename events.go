package vsm

import (
	"go.uber.org/zap"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/event"
)

// Subscribe calls fn for every event published on the node's stream from
// now on, on a goroutine of the subscription's own, through a bounded queue
// (event.WithBuffer): a slow fn loses events and never slows the node.
// cancel is idempotent; Stop cancels every subscription.
func (n *Node) Subscribe(fn func(Event), opts ...event.Option) (cancel func()) {
	s := n.subscribe(fn, opts...)
	return func() { n.unsubscribe(s) }
}

// SubscribePID sends every event to an actor, through the same bounded queue.
func (n *Node) SubscribePID(pid *actor.PID, opts ...event.Option) (cancel func()) {
	return n.Subscribe(func(ev Event) { n.sys.Root.Send(pid, ev) }, opts...)
}

// Subscription is like Subscribe but returns the subscription itself, for
// callers that read its drop count.
func (n *Node) Subscription(fn func(Event), opts ...event.Option) *event.Subscription {
	return n.subscribe(fn, opts...)
}

func (n *Node) subscribe(fn func(Event), opts ...event.Option) *event.Subscription {
	// A user's own OnPanic, later in opts, replaces this one.
	opts = append([]event.Option{event.OnPanic(n.subscriberPanicked)}, opts...)
	s := event.Subscribe(n.sys.EventStream, fn, opts...)
	n.mu.Lock()
	if n.stopped.Load() {
		n.mu.Unlock()
		s.Cancel()
		return s
	}
	n.subs[s] = struct{}{}
	n.mu.Unlock()
	return s
}

func (n *Node) unsubscribe(s *event.Subscription) {
	n.mu.Lock()
	delete(n.subs, s)
	n.mu.Unlock()
	s.Cancel()
}

// Publish puts an event on the node's stream.
func (n *Node) Publish(ev Event) { n.sys.EventStream.Publish(ev) }

// subscriberPanicked logs a contained subscriber panic. A subscriber that
// panics on every event would flood the log, so only the 1st, 2nd, 4th,
// 8th... panic of the node is logged, with the running count.
func (n *Node) subscriberPanicked(ev Event, v any) {
	c := n.subPanics.Add(1)
	if c&(c-1) != 0 {
		return
	}
	n.logger.Error("event subscriber panicked; the event is lost, delivery goes on",
		zap.String("event", ev.Kind()), zap.Any("panic", v), zap.Uint64("panics", c))
}

// SubscriberPanics is how many events were lost because a subscriber's
// function or filter panicked.
func (n *Node) SubscriberPanics() uint64 { return n.subPanics.Load() }
