package supervisor

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// ackProcess is the sender of the Touch a supervisor sends a child it has
// just spawned or restarted. The child answers Touch only after it has
// handled Started (system messages come first), so the answer marks the end
// of its start. Each start attempt has its own process and generation:
// an answer from an earlier incarnation, which may arrive after that
// incarnation's Terminated, is never taken for the current one's.
type ackProcess struct {
	sys  *actor.ActorSystem
	sup  *actor.PID
	gen  uint64
	done atomic.Bool
}

var _ actor.Process = (*ackProcess)(nil)

func (p *ackProcess) SendUserMessage(self *actor.PID, m any) {
	// Touched, or a DeadLetterResponse when the child is already gone (its
	// Terminated then tells the rest).
	if !p.done.CompareAndSwap(false, true) {
		return
	}
	p.sys.ProcessRegistry.Remove(self)
	p.sys.Root.Send(p.sup, &startAck{gen: p.gen})
}

func (p *ackProcess) SendSystemMessage(*actor.PID, any) {}
func (p *ackProcess) Stop(self *actor.PID)              { p.sys.ProcessRegistry.Remove(self) }
