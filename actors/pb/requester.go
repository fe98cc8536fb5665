package pb

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
)

// Requester sends a proto message to pid and waits for the proto reply
// until ctx ends. *cluster.Node is one (Node.Ask): it refuses a member that
// is gone at once and errors at ctx's deadline when the member dies with
// the request in flight. The connection actors' Remote* helpers take one.
type Requester interface {
	Ask(ctx context.Context, pid *actor.PID, msg proto.Message) (proto.Message, error)
}
