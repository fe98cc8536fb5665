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
	pattern := state.IsPattern(channel)
	var ps *goredis.PubSub
	if pattern {
		ps = s.c.PSubscribe(bctx, channel)
	} else {
		ps = s.c.Subscribe(bctx, channel)
	}
	// The first reply confirms the subscription: a publish after Subscribe
	// returns is delivered.
	msg, err := ps.Receive(bctx)
	if err == nil {
		if _, ok := msg.(*goredis.Subscription); !ok {
			err = fmt.Errorf("unexpected first reply %T", msg)
		}
	}
	if err != nil {
		_ = ps.Close()
		return nil, s.wrap("subscribe "+channel, err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	sub := &subscription{
		store:   s,
		ps:      ps,
		channel: channel,
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

type subscription struct {
	store   *Store
	ps      *goredis.PubSub
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
		msg, err := sub.ps.ReceiveTimeout(ctx, pingEvery)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if !broken && errors.As(err, &ne) && ne.Timeout() {
				// Idle: a ping fails on a dead connection, which go-redis
				// then replaces on the next receive.
				_ = sub.ps.Ping(ctx)
				continue
			}
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
			if broken {
				broken = false
				sub.reconnects.Add(1)
				log.Info("redis subscription restored", zap.String("channel", sub.channel))
			}
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
		_ = sub.ps.Close() // unblocks a pending receive
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
