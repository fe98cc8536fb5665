package ws

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/pb"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/internal/wire"
)

// kinds are the sentinels a send's failure carries across members.
var kinds = wire.Table(
	wire.Kind{Name: "ws.queue_full", Err: ErrQueueFull},
	wire.Kind{Name: "ws.not_connected", Err: ErrNotConnected},
	wire.Kind{Name: "ws.closed", Err: ErrClosed},
	wire.Kind{Name: "ws.message_too_large", Err: ErrMessageTooLarge},
	wire.Kind{Name: "ws.restarting", Err: ErrRestarting},
	wire.Kind{Name: "ws.expired", Err: ErrExpired},
)

// RemoteSendVia is SendVia through n, for a connection actor on any
// member: the message goes as a *pb.WsSend, and the answer's error matches
// the sentinels the member's did.
func RemoteSendVia(ctx context.Context, n pb.Requester, pid *actor.PID, m Message) error {
	msg := &pb.WsSend{Binary: m.Type == Binary, Data: m.Data}
	if dl, ok := ctx.Deadline(); ok {
		msg.DeadlineUnixNano = dl.UnixNano()
	}
	v, err := n.Ask(ctx, pid, msg)
	if errors.Is(err, ask.ErrNoActor) {
		return fmt.Errorf("%w: connection actor %s is gone", ErrClosed, pid.GetId())
	}
	if err != nil {
		return err
	}
	r, ok := v.(*pb.WsSendResult)
	if !ok {
		return fmt.Errorf("ws: unexpected reply %T", v)
	}
	return wire.Decode(r.GetError(), kinds)
}

func sendFromProto(m *pb.WsSend) *Send {
	msg := Message{Type: Text, Data: m.GetData()}
	if m.GetBinary() {
		msg.Type = Binary
	}
	return &Send{Message: msg, Deadline: wire.Time(m.GetDeadlineUnixNano())}
}
