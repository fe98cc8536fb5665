package actortest

import "github.com/asynkron/protoactor-go/actor"

// Asker is a custom actor that, told AskN, asks Target with Msg N times in
// a row with ctx.Request, one request in flight, and closes Done after the
// last reply: the request/reply path of a user's actor, as benchmarks of
// connection actors measure it. Any message that is not AskN or one of
// protoactor's lifecycle messages counts as a reply.
type Asker struct {
	Target *actor.PID
	Msg    any
	left   int
	done   chan struct{}
}

// AskN starts an Asker: N requests, then Done is closed.
type AskN struct {
	N    int
	Done chan struct{}
}

// Receive implements actor.Actor.
func (a *Asker) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *AskN:
		a.left, a.done = m.N, m.Done
		c.Request(a.Target, a.Msg)
	case actor.SystemMessage, actor.AutoReceiveMessage:
	default:
		a.left--
		if a.left == 0 {
			close(a.done)
			return
		}
		c.Request(a.Target, a.Msg)
	}
}
