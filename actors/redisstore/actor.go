package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

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
// mailbox.
//
// Subscriptions made by message survive restarts. Their specs (channel and
// subscriber) live in the props, not in the actor instance: a panic
// restarts the actor in place and its subscriptions go on delivering; a
// restart of its supervisor stops the actor (ending its live
// subscriptions) and spawns it again from the same Props, and the new
// incarnation subscribes again to every spec on Started, retrying with
// backoff while the store is unavailable. Messages published while the
// actor is down are lost, as during any Redis reconnection. A
// re-subscription that fails for another reason is given up: the
// subscriber receives a *SubscriptionLost and may subscribe again.
//
// Spawn one actor per Props. Under a supervisor that may restart the actor,
// give it a store whose Close does nothing and close the backend yourself
// once the actor is gone for good (the node does): the next incarnation
// needs the store the previous one closed on Stopping.
func Props(st state.Store) *actor.Props {
	sh := &shared{st: st, requests: offload.New(MaxInFlight), subs: make(map[subKey]*subEntry)}
	return actor.PropsFromProducer(func() actor.Actor { return &stateActor{sh: sh} })
}

type subKey struct {
	channel    string
	subscriber string // PID key: address/id
}

// Backoff of a re-subscription while the store is unavailable.
const (
	resubscribeMin = 10 * time.Millisecond
	resubscribeMax = time.Second
)

// shared is the state that outlives an incarnation of the actor.
type shared struct {
	st state.Store
	// requests run messages off the mailbox; stop cancels and waits for them.
	requests *offload.Runner
	// resubscribing counts the re-subscription goroutines; stop waits for
	// them.
	resubscribing sync.WaitGroup

	mu sync.Mutex
	// subs are the subscription specs, kept until Unsubscribe, the
	// subscriber's termination, or a re-subscription given up.
	subs map[subKey]*subEntry
	// life ends the re-subscriptions of the running incarnation; nil while
	// the actor is stopped. A panic restart keeps it.
	life   context.Context
	cancel context.CancelFunc
	// gen counts the stops: a Subscribe that completes after a stop must
	// not keep its subscription open (the stop has closed the others).
	gen uint64
}

// subEntry is one subscription spec and, while established, its live
// subscription. Its fields are guarded by shared.mu.
type subEntry struct {
	key        subKey
	subscriber *actor.PID
	sub        state.Subscription // nil until (re)established
	pending    bool               // a Subscribe for it is running
}

type stateActor struct {
	sh *shared
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
	case *Unsubscribe:
		err := error(nil)
		if m.Subscriber == nil {
			err = errors.New("redis actor: Unsubscribe without Subscriber")
		} else {
			a.dropSubscription(subKey{m.Channel, pidKey(m.Subscriber)})
		}
		a.reply(ctx, &Result{Err: err})
	case *actor.Started:
		a.started(ctx)
	case *actor.Terminated:
		a.dropSubscriber(pidKey(m.Who))
	case *actor.Stopping:
		a.stop()
	case proto.Message:
		// The protobuf forms, from a custom actor on another member.
		a.receiveProto(ctx, m)
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
	sh := a.sh
	key := subKey{m.Channel, pidKey(m.Subscriber)}
	sh.mu.Lock()
	if _, dup := sh.subs[key]; dup {
		sh.mu.Unlock()
		a.reply(ctx, &Result{})
		return
	}
	// The spec is recorded before the subscription exists, so that an
	// Unsubscribe or the subscriber's end that comes first finds it (the
	// worker then closes what it made) and a restart meanwhile keeps it.
	e := &subEntry{key: key, subscriber: m.Subscriber, pending: true}
	sh.subs[key] = e
	gen := sh.gen
	sh.mu.Unlock()
	ctx.Watch(m.Subscriber)
	root := ctx.ActorSystem().Root
	a.run(ctx, m.Deadline, func(c context.Context) any {
		sub, err := sh.st.Subscribe(c, m.Channel, forward(root, m.Subscriber))
		if err != nil {
			sh.forget(e)
			return &Result{Err: err}
		}
		if !sh.adopt(e, sub, gen) {
			_ = sub.Close()
		}
		return &Result{}
	}, func(err error) any {
		sh.forget(e)
		return resultErr(err)
	})
}

// forward is the handler of a subscription made for subscriber. Root is
// safe to use from the subscription's goroutine.
func forward(root *actor.RootContext, subscriber *actor.PID) state.Handler {
	return func(msg state.Message) { root.Send(subscriber, &Published{Message: msg}) }
}

// started resumes the subscriptions of the specs: after a panic restart
// they are still live; after a stop (a restart of the supervisor) each is
// subscribed again, off the mailbox.
func (a *stateActor) started(ctx actor.Context) {
	sh := a.sh
	sh.mu.Lock()
	if sh.life == nil {
		sh.life, sh.cancel = context.WithCancel(context.Background())
	}
	life, gen := sh.life, sh.gen
	watch := make([]*actor.PID, 0, len(sh.subs))
	var redo []*subEntry
	for _, e := range sh.subs {
		watch = append(watch, e.subscriber)
		if e.sub == nil && !e.pending {
			e.pending = true
			redo = append(redo, e)
		}
	}
	sh.mu.Unlock()
	// A new incarnation after a stop watches no one yet; watching twice
	// after a panic restart is harmless. A subscriber that died meanwhile
	// answers the Watch with Terminated, which drops its specs.
	for _, pid := range watch {
		ctx.Watch(pid)
	}
	root := ctx.ActorSystem().Root
	for _, e := range redo {
		sh.resubscribing.Add(1)
		go sh.resubscribe(life, gen, root, e)
	}
}

// resubscribe subscribes e again, retrying with backoff while the store is
// unavailable, until it holds, the spec is dropped or the incarnation
// stops. Any other failure gives the spec up and tells the subscriber.
func (sh *shared) resubscribe(life context.Context, gen uint64, root *actor.RootContext, e *subEntry) {
	defer sh.resubscribing.Done()
	backoff := resubscribeMin
	for {
		sub, err := sh.st.Subscribe(life, e.key.channel, forward(root, e.subscriber))
		if err == nil {
			if !sh.adopt(e, sub, gen) {
				_ = sub.Close()
			}
			return
		}
		if life.Err() != nil {
			sh.settle(e)
			return
		}
		if !errors.Is(err, state.ErrUnavailable) {
			if sh.forget(e) {
				root.Send(e.subscriber, &SubscriptionLost{Channel: e.key.channel, Err: err})
			}
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-life.Done():
			t.Stop()
			sh.settle(e)
			return
		case <-t.C:
		}
		backoff = min(2*backoff, resubscribeMax)
		if !sh.wanted(e) {
			return
		}
	}
}

// adopt makes sub e's live subscription. It reports false, and the caller
// closes sub, when the spec was dropped meanwhile or the actor stopped
// since gen (the spec then waits for the next incarnation).
func (sh *shared) adopt(e *subEntry, sub state.Subscription, gen uint64) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e.pending = false
	if sh.subs[e.key] != e || sh.gen != gen {
		return false
	}
	e.sub = sub
	return true
}

// settle marks e as no longer being subscribed, for the next incarnation.
func (sh *shared) settle(e *subEntry) {
	sh.mu.Lock()
	e.pending = false
	sh.mu.Unlock()
}

// wanted reports whether e is still a spec.
func (sh *shared) wanted(e *subEntry) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.subs[e.key] == e
}

// forget drops the spec e whose subscription failed, reporting whether it
// was still there.
func (sh *shared) forget(e *subEntry) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e.pending = false
	if sh.subs[e.key] != e {
		return false
	}
	delete(sh.subs, e.key)
	return true
}

func (a *stateActor) dropSubscription(key subKey) {
	sh := a.sh
	sh.mu.Lock()
	var sub state.Subscription
	if e, ok := sh.subs[key]; ok {
		sub, e.sub = e.sub, nil
		delete(sh.subs, key)
	}
	sh.mu.Unlock()
	if sub != nil {
		_ = sub.Close()
	}
}

func (a *stateActor) dropSubscriber(subscriber string) {
	sh := a.sh
	sh.mu.Lock()
	var drop []state.Subscription
	for k, e := range sh.subs {
		if k.subscriber == subscriber {
			if e.sub != nil {
				drop = append(drop, e.sub)
				e.sub = nil
			}
			delete(sh.subs, k)
		}
	}
	sh.mu.Unlock()
	for _, sub := range drop {
		_ = sub.Close()
	}
}

// stop ends the live subscriptions, the re-subscriptions and the in-flight
// requests, then closes the store. The specs stay, for the next
// incarnation if the supervisor spawns one.
func (a *stateActor) stop() {
	sh := a.sh
	sh.requests.Stop()
	sh.mu.Lock()
	sh.gen++
	cancel := sh.cancel
	sh.life, sh.cancel = nil, nil
	var live []state.Subscription
	for _, e := range sh.subs {
		if e.sub != nil {
			live = append(live, e.sub)
			e.sub = nil
		}
	}
	sh.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	for _, sub := range live {
		_ = sub.Close()
	}
	sh.requests.Wait()
	sh.resubscribing.Wait()
	_ = sh.st.Close()
}
