package cluster

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/viable-systems/vsm-connections/actors/pb"
)

var _ pb.Requester = (*Node)(nil)

// Ask is Request from the actor system's root for a proto message and a
// proto reply: the form the connection actors' Remote* helpers (e.g.
// httppool.RemoteSend) take, through pb.Requester. It works for a local pid
// too, with the same answers.
func (n *Node) Ask(ctx context.Context, pid *actor.PID, msg proto.Message) (proto.Message, error) {
	var m any
	if msg != nil {
		m = msg // a nil interface stays nil, so that check refuses it
	}
	return Request[proto.Message](ctx, n, n.sys.Root, pid, m)
}
