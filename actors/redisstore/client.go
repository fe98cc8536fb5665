package redisstore

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/state"
)

// The functions below ask the state actor at pid by message, within ctx (10s
// when ctx has no deadline), with ctx's deadline as the request's Deadline.

// AskGet reads key through the actor and decodes it into dst as
// state.Store.Get does.
func AskGet(ctx context.Context, sender actor.SenderContext, pid *actor.PID, key string, dst any) error {
	dl, _ := ctx.Deadline()
	r, err := ask.Ask[*GetResult](ctx, sender, pid, &Get{Key: key, Deadline: dl})
	if err != nil {
		return err
	}
	if r.Err != nil {
		return r.Err
	}
	return state.Decode(key, r.Value, dst)
}

// AskSet stores value through the actor.
func AskSet(ctx context.Context, sender actor.SenderContext, pid *actor.PID, key string, value any, opts ...state.SetOption) error {
	dl, _ := ctx.Deadline()
	return resultOf(ask.Ask[*Result](ctx, sender, pid, &Set{Key: key, Value: value, TTL: state.ResolveSetOptions(opts).TTL, Deadline: dl}))
}

// AskPublish publishes through the actor.
func AskPublish(ctx context.Context, sender actor.SenderContext, pid *actor.PID, channel string, value any) error {
	dl, _ := ctx.Deadline()
	return resultOf(ask.Ask[*Result](ctx, sender, pid, &Publish{Channel: channel, Value: value, Deadline: dl}))
}

// AskSubscribe makes subscriber receive a *Published per message on channel.
func AskSubscribe(ctx context.Context, sender actor.SenderContext, pid *actor.PID, channel string, subscriber *actor.PID) error {
	dl, _ := ctx.Deadline()
	return resultOf(ask.Ask[*Result](ctx, sender, pid, &Subscribe{Channel: channel, Subscriber: subscriber, Deadline: dl}))
}

func resultOf(r *Result, err error) error {
	if err != nil {
		return err
	}
	return r.Err
}

// SubscribePID subscribes pid to channel on st without going through the
// state actor: pid receives a *Published per message, sent with sender,
// which must be safe to use from any goroutine (the actor system's Root is;
// an actor.Context is not). Close the returned subscription to stop.
func SubscribePID(ctx context.Context, st state.Store, sender actor.SenderContext, channel string, pid *actor.PID) (state.Subscription, error) {
	return st.Subscribe(ctx, channel, func(m state.Message) { sender.Send(pid, &Published{Message: m}) })
}
