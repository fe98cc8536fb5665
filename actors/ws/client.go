package ws

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/internal/ask"
)

// SendVia asks the connection actor pid to queue m (the *Send message) and
// returns the actor's answer: nil once queued, or an error matching
// ErrQueueFull, ErrNotConnected, ErrMessageTooLarge or ErrClosed. ctx's
// deadline, if any, is the message's queue deadline. Code that holds the
// *Conn should call Conn.Send instead: it skips the mailbox.
func SendVia(ctx context.Context, sender actor.SenderContext, pid *actor.PID, m Message) error {
	dl, _ := ctx.Deadline()
	res, err := request[*SendResult](ctx, sender, pid, &Send{Message: m, Deadline: dl})
	if err != nil {
		return err
	}
	return res.Err
}

// StatsVia asks the connection actor pid for its counters.
func StatsVia(ctx context.Context, sender actor.SenderContext, pid *actor.PID) (Stats, error) {
	res, err := request[*StatsResult](ctx, sender, pid, &GetStats{})
	if err != nil {
		return Stats{}, err
	}
	return res.Stats, nil
}

func request[T any](ctx context.Context, sender actor.SenderContext, pid *actor.PID, msg any) (T, error) {
	v, err := ask.Ask[T](ctx, sender, pid, msg)
	if errors.Is(err, ask.ErrNoActor) {
		return v, fmt.Errorf("%w: connection actor %s is gone", ErrClosed, pid.GetId())
	}
	return v, err
}
