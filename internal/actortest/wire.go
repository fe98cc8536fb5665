package actortest

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/viable-systems/vsm-connections/internal/ask"
)

// WireAsker is a pb.Requester for tests in one process: it sends each
// message and reply through proto.Marshal and Unmarshal, as protoactor's
// remote does between members, so a test sees what a remote caller gets
// (and fails if a field does not survive the wire).
type WireAsker struct{ Root *actor.RootContext }

func (w WireAsker) Ask(ctx context.Context, pid *actor.PID, msg proto.Message) (proto.Message, error) {
	in, err := roundTrip(msg)
	if err != nil {
		return nil, err
	}
	reply, err := ask.Ask[proto.Message](ctx, w.Root, pid, in)
	if err != nil {
		return nil, err
	}
	return roundTrip(reply)
}

func roundTrip(m proto.Message) (proto.Message, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("actortest: marshal %T: %w", m, err)
	}
	out := m.ProtoReflect().New().Interface()
	if err := proto.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("actortest: unmarshal %T: %w", m, err)
	}
	return out, nil
}
