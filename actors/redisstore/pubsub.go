package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/state"
)

// pingEvery is how long a subscription waits for a message before pinging
// to check that its connection is alive.
const pingEvery = 15 * time.Second

// Subscribe implements state.Store. It returns once Redis has confirmed the
// subscription (bounded by ctx and the store's timeout).
func (s *Store) Subscribe(ctx context.Context, channel string, h state.Handler) (state.Subscription, error) {
	if err := s.checkOpen("subscribe"); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("redis subscribe %s: nil handler", channel)
	}
	bctx, cancel := s.bound(ctx)
	defer cancel()
	sharded := s.cluster != nil && !state.IsPattern(channel) && !s.noSharded.Load()
	ps, err := s.subscribe(bctx, channel, sharded)
	if sharded && errors.Is(err, state.ErrUnsupported) {
		// Redis 6: no SSUBSCRIBE; Publish's PUBLISH copy reaches a plain
		// SUBSCRIBE.
		s.noSharded.Store(true)
		sharded = false
		ps, err = s.subscribe(bctx, channel, false)
	}
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	sub := &subscription{
		store:   s,
		ps:      ps,
		channel: channel,
		sharded: sharded,
		h:       h,
		stop:    stop,
		done:    make(chan struct{}),
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		stop()
		_ = ps.Close()
		return nil, fmt.Errorf("redis subscribe: %w", state.ErrClosed)
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	go sub.run(runCtx)
	return sub, nil
}

// subscribe opens a PubSub for channel: PSUBSCRIBE for a pattern,
// SSUBSCRIBE when sharded, SUBSCRIBE otherwise. It returns once Redis has
// confirmed: a publish after it returns is delivered.
func (s *Store) subscribe(ctx context.Context, channel string, sharded bool) (*goredis.PubSub, error) {
	var ps *goredis.PubSub
	switch {
	case state.IsPattern(channel):
		ps = s.c.PSubscribe(ctx, channel)
	case sharded:
		ps = s.cluster.SSubscribe(ctx, channel)
	default:
		ps = s.c.Subscribe(ctx, channel)
	}
	msg, err := ps.Receive(ctx)
	if err == nil {
		if _, ok := msg.(*goredis.Subscription); !ok {
			err = fmt.Errorf("unexpected first reply %T", msg)
		}
	}
	if err != nil {
		_ = ps.Close()
		return nil, s.wrap("subscribe "+channel, err)
	}
	return ps, nil
}

type subscription struct {
	store *Store
	// ps is replaced (under mu) when a shard drops a sharded subscription.
	mu      sync.Mutex
	ps      *goredis.PubSub
	sharded bool
	channel string
	h       state.Handler
	stop    context.CancelFunc
	done    chan struct{}
	once    sync.Once

	panics     atomic.Uint64
	delivered  atomic.Uint64
	reconnects atomic.Uint64
}

func (sub *subscription) run(ctx context.Context) {
	defer close(sub.done)
	log := sub.store.opts.logger
	const minBackoff, maxBackoff = 10 * time.Millisecond, time.Second
	backoff := minBackoff
	broken := false
	for {
		sub.mu.Lock()
		ps := sub.ps
		sub.mu.Unlock()
		msg, err := ps.ReceiveTimeout(ctx, pingEvery)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if !broken && errors.As(err, &ne) && ne.Timeout() {
				// Idle: a ping fails on a dead connection, which go-redis
				// then replaces on the next receive.
				_ = ps.Ping(ctx)
				continue
			}
			sub.store.reloadOnUnavailable()
			if !broken {
				broken = true
				log.Warn("redis subscription lost its connection; reconnecting",
					zap.String("channel", sub.channel), zap.String("error", sub.store.red.redact(err.Error())))
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		switch m := msg.(type) {
		case *goredis.Message:
			sub.deliver(state.Message{Channel: m.Channel, Pattern: m.Pattern, Payload: []byte(m.Payload)})
		case *goredis.Subscription:
			if m.Kind == "sunsubscribe" && sub.sharded {
				// The shard gave the slot away (a failover or a slot
				// migration; Redis 7 then unsubscribes): subscribe again
				// where the slot is now.
				log.Info("redis shard dropped a sharded subscription; subscribing again",
					zap.String("channel", sub.channel))
				sub.store.reloadOnUnavailable()
				if !sub.resubscribe(ctx) {
					return
				}
				sub.reconnects.Add(1)
				continue
			}
			if broken {
				broken = false
				sub.reconnects.Add(1)
				log.Info("redis subscription restored", zap.String("channel", sub.channel))
			}
		}
	}
}

// resubscribe replaces the sharded PubSub with a new one, retrying with
// backoff until it succeeds or ctx ends (then it reports false).
func (sub *subscription) resubscribe(ctx context.Context) bool {
	s := sub.store
	sub.mu.Lock()
	old := sub.ps
	sub.mu.Unlock()
	_ = old.Close()
	backoff := 10 * time.Millisecond
	for {
		bctx, cancel := s.bound(ctx)
		// The slot map go-redis routes SSUBSCRIBE by may still name the
		// node that just gave the slot away: subscribing there would go
		// to a replica that receives nothing.
		err := s.freshSlotOwner(bctx, sub.channel)
		var ps *goredis.PubSub
		if err == nil {
			ps, err = s.subscribe(bctx, sub.channel, true)
		}
		cancel()
		if err == nil {
			sub.mu.Lock()
			if ctx.Err() != nil {
				sub.mu.Unlock()
				_ = ps.Close()
				return false
			}
			sub.ps = ps
			sub.mu.Unlock()
			return true
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		backoff = min(2*backoff, time.Second)
	}
}

// freshSlotOwner returns nil once go-redis routes key to the master that a
// node of the cluster says serves its slot, asking for reloads of the slot
// map meanwhile; or ctx's error.
func (s *Store) freshSlotOwner(ctx context.Context, key string) error {
	slot := keySlot(key)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		slots, err := s.cluster.ClusterSlots(ctx).Result()
		if err == nil {
			owner := ""
			for _, r := range slots {
				if slot >= r.Start && slot <= r.End && len(r.Nodes) > 0 {
					owner = r.Nodes[0].Addr
				}
			}
			if c, err := s.cluster.MasterForKey(ctx, key); err == nil && owner != "" && c.Options().Addr == owner {
				return nil
			}
		}
		s.cluster.ReloadState(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (sub *subscription) deliver(m state.Message) {
	defer func() {
		if r := recover(); r != nil {
			sub.panics.Add(1)
			sub.store.opts.logger.Error("redis subscription handler panicked",
				zap.String("channel", m.Channel), zap.Any("panic", r))
		}
	}()
	sub.h(m)
	sub.delivered.Add(1)
}

// Close implements state.Subscription. It must not be called from the
// handler itself (it waits for the handler to return); a handler that wants
// to end its subscription calls Close in a new goroutine.
func (sub *subscription) Close() error {
	sub.once.Do(func() {
		sub.stop()
		sub.mu.Lock()
		ps := sub.ps
		sub.mu.Unlock()
		_ = ps.Close() // unblocks a pending receive
		<-sub.done
		s := sub.store
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	})
	return nil
}

// Panics implements state.Subscription.
func (sub *subscription) Panics() uint64 { return sub.panics.Load() }

// Reconnects counts how many times the subscription was restored after
// losing its connection.
func (sub *subscription) Reconnects() uint64 { return sub.reconnects.Load() }
