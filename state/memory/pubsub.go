package memory

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/viable-systems/vsm-connections/state"
)

// Publish implements state.Store. Delivery is asynchronous; every
// subscription receives messages in the order they were published.
func (s *Store) Publish(ctx context.Context, channel string, value any) error {
	b, err := state.Encode(value)
	if err != nil {
		return fmt.Errorf("state: encode message for %q: %w", channel, err)
	}
	b = append([]byte(nil), b...)
	if _, err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.publishLocked(channel, b)
	return nil
}

// publishLocked enqueues under the store lock so that all subscriptions see
// one total order of messages, as with Redis.
func (s *Store) publishLocked(channel string, payload []byte) int64 {
	var n int64
	for sub := range s.exact[channel] {
		sub.enqueue(state.Message{Channel: channel, Payload: payload})
		n++
	}
	for sub := range s.pattern {
		if match(sub.name, channel) {
			sub.enqueue(state.Message{Channel: channel, Pattern: sub.name, Payload: payload})
			n++
		}
	}
	return n
}

// Subscribe implements state.Store.
func (s *Store) Subscribe(ctx context.Context, channel string, h state.Handler) (state.Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("state: subscribe %q: nil handler", channel)
	}
	if _, err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	sub := &subscription{
		store: s,
		name:  channel,
		isPat: state.IsPattern(channel),
		h:     h,
		limit: s.cfg.subBuffer,
		wake:  make(chan struct{}, 1),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if sub.isPat {
		s.pattern[sub] = struct{}{}
	} else {
		set := s.exact[channel]
		if set == nil {
			set = make(map[*subscription]struct{})
			s.exact[channel] = set
		}
		set[sub] = struct{}{}
	}
	go sub.run()
	return sub, nil
}

type subscription struct {
	store *Store
	name  string
	isPat bool
	h     state.Handler
	limit int

	mu    sync.Mutex
	queue []state.Message

	wake     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	panics  atomic.Uint64
	dropped atomic.Uint64
}

func (sub *subscription) enqueue(m state.Message) {
	sub.mu.Lock()
	if len(sub.queue) >= sub.limit {
		sub.mu.Unlock()
		sub.dropped.Add(1)
		return
	}
	sub.queue = append(sub.queue, m)
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

func (sub *subscription) run() {
	defer close(sub.done)
	var batch []state.Message
	for {
		select {
		case <-sub.quit:
			return
		case <-sub.wake:
		}
		sub.mu.Lock()
		batch, sub.queue = sub.queue, batch[:0]
		sub.mu.Unlock()
		for i, m := range batch {
			select {
			case <-sub.quit:
				return
			default:
			}
			sub.deliver(m)
			batch[i] = state.Message{} // let payloads be collected
		}
	}
}

func (sub *subscription) deliver(m state.Message) {
	defer func() {
		if r := recover(); r != nil {
			sub.panics.Add(1)
		}
	}()
	sub.h(m)
}

// Close implements state.Subscription. It must not be called from the
// handler itself (it waits for the handler to return); a handler that wants
// to end its subscription calls Close in a new goroutine.
func (sub *subscription) Close() error {
	s := sub.store
	s.mu.Lock()
	if sub.isPat {
		delete(s.pattern, sub)
	} else if set := s.exact[sub.name]; set != nil {
		delete(set, sub)
		if len(set) == 0 {
			delete(s.exact, sub.name)
		}
	}
	s.mu.Unlock()
	sub.stop()
	return nil
}

func (sub *subscription) stop() {
	sub.stopOnce.Do(func() { close(sub.quit) })
	<-sub.done
}

// Panics implements state.Subscription.
func (sub *subscription) Panics() uint64 { return sub.panics.Load() }

// Dropped counts messages dropped because the subscription's queue was full.
func (sub *subscription) Dropped() uint64 { return sub.dropped.Load() }
