package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/internal/offload"
	"github.com/viable-systems/vsm-connections/state"
)

// ErrBusy is the reply when the actor already has MaxInFlight requests
// running: it never queues I/O behind its mailbox.
var ErrBusy = offload.ErrBusy

// MaxInFlight bounds the requests one state actor runs at once.
const MaxInFlight = 256

// Props returns the props of an actor that owns st: it answers the
// messages of messages.go for custom actors and closes st when it stops.
// Plain Go code should call st directly, which costs no mailbox hop.
//
// Every request runs on its own goroutine (at most MaxInFlight) and the
// reply goes to the captured sender, so a slow Redis never blocks the
// mailbox. Subscriptions made by message live in the props, not in the
// actor instance, so a restart of the actor keeps them; spawn one actor per
// Props.
func Props(st state.Store) *actor.Props {
	sh := &shared{st: st, requests: offload.New(MaxInFlight), subs: make(map[subKey]state.Subscription)}
	return actor.PropsFromProducer(func() actor.Actor { return &stateActor{sh: sh} })
}

type subKey struct {
	channel    string
	subscriber string // PID key: address/id
}

// shared is the state that outlives a restart of the actor instance.
type shared struct {
	st state.Store
	// requests run messages off the mailbox; stop cancels and waits for them.
	requests *offload.Runner

	mu   sync.Mutex
	subs map[subKey]state.Subscription
}

type stateActor struct {
	sh *shared
}

// subscribed is sent by a Subscribe worker back to the actor, which alone
// records subscriptions.
type subscribed struct {
	key        subKey
	subscriber *actor.PID
	sub        state.Subscription
}

func pidKey(p *actor.PID) string { return p.Address + "/" + p.Id }

func (a *stateActor) Receive(ctx actor.Context) {
	sh := a.sh
	switch m := ctx.Message().(type) {
	case *Get:
		a.run(ctx, m.Deadline, func(c context.Context) any {
			var v []byte
			err := sh.st.Get(c, m.Key, &v)
			return &GetResult{Key: m.Key, Value: v, Err: err}
		}, func(err error) any { return &GetResult{Key: m.Key, Err: err} })
	case *Set:
		a.run(ctx, m.Deadline, func(c context.Context) any {
			var opts []state.SetOption
			if m.TTL > 0 {
				opts = append(opts, state.Expire(m.TTL))
			}
			return &Result{Err: sh.st.Set(c, m.Key, m.Value, opts...)}
		}, resultErr)
	case *Del:
		a.run(ctx, m.Deadline, func(c context.Context) any {
			n, err := sh.st.Del(c, m.Keys...)
			return &CountResult{N: n, Err: err}
		}, countErr)
	case *Incr:
		by := m.By
		if by == 0 {
			by = 1
		}
		a.run(ctx, m.Deadline, func(c context.Context) any {
			n, err := sh.st.IncrBy(c, m.Key, by)
			return &CountResult{N: n, Err: err}
		}, countErr)
	case *Publish:
		a.run(ctx, m.Deadline, func(c context.Context) any {
			return &Result{Err: sh.st.Publish(c, m.Channel, m.Value)}
		}, resultErr)
	case *Ping:
		a.run(ctx, m.Deadline, func(c context.Context) any {
			return &Result{Err: sh.st.Ping(c)}
		}, resultErr)
	case *Subscribe:
		a.subscribe(ctx, m)
	case *subscribed:
		a.recordSubscription(ctx, m)
	case *Unsubscribe:
		err := error(nil)
		if m.Subscriber == nil {
			err = errors.New("redis actor: Unsubscribe without Subscriber")
		} else {
			a.dropSubscription(subKey{m.Channel, pidKey(m.Subscriber)})
		}
		a.reply(ctx, &Result{Err: err})
	case *actor.Terminated:
		a.dropSubscriber(pidKey(m.Who))
	case *actor.Stopping:
		a.stop()
	}
}

func resultErr(err error) any { return &Result{Err: err} }
func countErr(err error) any  { return &CountResult{Err: err} }

func (a *stateActor) reply(ctx actor.Context, msg any) {
	if s := ctx.Sender(); s != nil {
		ctx.Send(s, msg)
	}
}

// run does work off the mailbox (see package offload) and sends its reply
// to the captured sender. A nil reply from work means work has arranged the
// reply itself.
func (a *stateActor) run(ctx actor.Context, deadline time.Time, work func(context.Context) any, fail func(error) any) {
	a.sh.requests.Run(ctx, deadline, work, func(err error) any { return fail(fmt.Errorf("redis actor: %w", err)) })
}

func (a *stateActor) subscribe(ctx actor.Context, m *Subscribe) {
	if m.Subscriber == nil {
		a.reply(ctx, &Result{Err: errors.New("redis actor: Subscribe without Subscriber")})
		return
	}
	key := subKey{m.Channel, pidKey(m.Subscriber)}
	a.sh.mu.Lock()
	_, dup := a.sh.subs[key]
	a.sh.mu.Unlock()
	if dup {
		a.reply(ctx, &Result{})
		return
	}
	self, target, root := ctx.Self(), m.Subscriber, ctx.ActorSystem().Root
	sender := ctx.Sender()
	a.run(ctx, m.Deadline, func(c context.Context) any {
		sub, err := a.sh.st.Subscribe(c, m.Channel, func(msg state.Message) {
			root.Send(target, &Published{Message: msg})
		})
		if err != nil {
			return &Result{Err: err}
		}
		// The actor records it; the reply to the sender goes from there,
		// after the record, so an Unsubscribe that follows finds it.
		root.RequestWithCustomSender(self, &subscribed{key: key, subscriber: target, sub: sub}, sender)
		return nil
	}, resultErr)
}

func (a *stateActor) recordSubscription(ctx actor.Context, m *subscribed) {
	a.sh.mu.Lock()
	old, dup := a.sh.subs[m.key]
	a.sh.subs[m.key] = m.sub
	a.sh.mu.Unlock()
	if dup {
		_ = old.Close() // a concurrent duplicate Subscribe: keep one
	}
	ctx.Watch(m.subscriber)
	a.reply(ctx, &Result{})
}

func (a *stateActor) dropSubscription(key subKey) {
	a.sh.mu.Lock()
	sub, ok := a.sh.subs[key]
	delete(a.sh.subs, key)
	a.sh.mu.Unlock()
	if ok {
		_ = sub.Close()
	}
}

func (a *stateActor) dropSubscriber(subscriber string) {
	a.sh.mu.Lock()
	var drop []state.Subscription
	for k, sub := range a.sh.subs {
		if k.subscriber == subscriber {
			drop = append(drop, sub)
			delete(a.sh.subs, k)
		}
	}
	a.sh.mu.Unlock()
	for _, sub := range drop {
		_ = sub.Close()
	}
}

// stop ends subscriptions and in-flight requests, then closes the store.
func (a *stateActor) stop() {
	sh := a.sh
	sh.requests.Stop()
	sh.mu.Lock()
	subs := sh.subs
	sh.subs = make(map[subKey]state.Subscription)
	sh.mu.Unlock()
	for _, sub := range subs {
		_ = sub.Close()
	}
	sh.requests.Wait()
	_ = sh.st.Close()
}
