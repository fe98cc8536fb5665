package signals

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/cluster/signalpb"
)

// hubActor is a member's end of the signals: it receives the other
// members' alerts and Records and the requests to the leader, and sends
// this node's alerts out. Everything it knows lives in the hub.
type hubActor struct{ h *Hub }

func (a *hubActor) Receive(ctx actor.Context) {
	h := a.h
	switch m := ctx.Message().(type) {
	case *signalpb.Alert:
		h.receive(m)
	case *signalpb.BreakerRecord:
		h.dispatch(m.GetBreaker(), fromPB(m))
	case *signalpb.BreakerRead:
		if m.GetReplica() {
			ctx.Respond(h.replicaRead(m.GetBreaker()))
			return
		}
		r, _ := h.leadRead(m.GetBreaker())
		ctx.Respond(r)
	case *signalpb.BreakerPublish:
		r, _ := h.leadPublish(m)
		ctx.Respond(r)
	case *signalpb.BreakerLease:
		r, _ := h.leadLease(m)
		ctx.Respond(r)
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		h.log.Debug("signals: unexpected message", zap.String("type", typeName(m)))
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }
