package ws

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/pb"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/internal/wire"
)

// connActor owns one incarnation of a connection's life: it starts each
// dial, decides the backoff, publishes the events, and turns a handler
// panic into its own, so that its supervisor restarts it (and only it).
// All I/O runs on the Conn's goroutines; the mailbox never waits on it.
type connActor struct {
	c      *Conn
	gen    uint64
	ctx    context.Context // this incarnation's; ends on Stopping/Restarting
	cancel context.CancelCauseFunc
	root   *actor.RootContext
	self   *actor.PID
	rnd    *rand.Rand

	attempt int // dial attempts since the last connect
	round   int // failed rounds (every endpoint tried) since the last connect

	connectedAt time.Time
	endpoint    string
}

func (a *connActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.started(ctx)
	case *actor.Stopping:
		a.stop(errStopped)
	case *actor.Restarting:
		a.stop(ErrRestarting)
	case *dialFailed:
		if m.gen == a.gen {
			a.dialFailed(m)
		}
	case *sessionStarted:
		if m.gen == a.gen {
			a.sessionStarted(m)
		}
	case *sessionEnded:
		if m.gen == a.gen {
			a.sessionEnded(m)
		}
	case *handlerPanicked:
		if m.gen == a.gen {
			a.c.panics.Add(1)
			if a.c.env.Alerts != nil {
				a.c.env.Alerts.Raise(algedonic.Warning, a.c.name, m.err.Error())
			}
			// The session is already closing; failing here is what makes
			// the supervisor restart this connection's actor and no other.
			panic(m.err)
		}
	case *Send:
		// Without a sender (a bare Send) the message is still queued; a
		// failure is then only counted.
		err := a.c.TrySend(m.Message, m.Deadline)
		if ctx.Sender() != nil {
			ctx.Respond(&SendResult{Err: err})
		}
	case *GetStats:
		if ctx.Sender() != nil {
			ctx.Respond(&StatsResult{Stats: a.c.Stats()})
		}
	// The wire form (package actors/pb), answered in proto: see remote.go.
	case *pb.WsSend:
		sm := sendFromProto(m)
		err := a.c.TrySend(sm.Message, sm.Deadline)
		if ctx.Sender() != nil {
			ctx.Respond(&pb.WsSendResult{Error: wire.Encode(err, kinds)})
		}
	}
}

func (a *connActor) started(ctx actor.Context) {
	a.root = ctx.ActorSystem().Root
	a.self = ctx.Self()
	a.c.pid.Store(a.self)
	a.gen = a.c.gen.Add(1)
	a.ctx, a.cancel = context.WithCancelCause(a.c.ctx)
	a.rnd = rand.New(rand.NewPCG(rand.Uint64(), a.gen))
	if a.c.State() != Closed {
		a.c.state.Store(int32(Connecting))
	}
	a.dial(0)
}

func (a *connActor) stop(cause error) {
	if a.cancel != nil {
		a.cancel(cause)
	}
}

func (a *connActor) dial(delay time.Duration) {
	gen, ctx := a.gen, a.ctx
	a.c.goAsync(func() { a.c.dialRound(ctx, gen, delay, a.root, a.self) })
}

func (a *connActor) dialFailed(m *dialFailed) {
	a.attempt++
	ev := &DialAttempted{
		Conn: a.c.name, Endpoint: m.endpoint, Attempt: a.attempt,
		Err: m.err.Error(), BreakerOpen: m.breakerOpen, At: time.Now(),
	}
	if m.last {
		ev.Delay = backoff(a.round, a.c.cfg.BackoffInitial, a.c.cfg.BackoffMax, a.rnd.Int64N)
		a.round++
	}
	a.c.log.Debug("ws dial failed", "endpoint", m.endpoint, "attempt", a.attempt, "err", m.err, "delay", ev.Delay)
	a.c.publish(ev)
	if m.last {
		a.dial(ev.Delay)
	}
}

func (a *connActor) sessionStarted(m *sessionStarted) {
	a.attempt++
	now := time.Now()
	a.c.publish(&DialAttempted{Conn: a.c.name, Endpoint: m.endpoint, Attempt: a.attempt, At: now})
	a.attempt, a.round = 0, 0
	a.connectedAt, a.endpoint = now, m.endpoint
	a.c.publish(&Connected{Conn: a.c.name, Endpoint: m.endpoint, Reconnect: a.c.connects.Load() > 1, At: now})
}

func (a *connActor) sessionEnded(m *sessionEnded) {
	now := time.Now()
	reason := "closed"
	if m.err != nil {
		reason = m.err.Error()
	}
	a.c.log.Debug("ws disconnected", "endpoint", a.endpoint, "err", m.err)
	a.c.publish(&Disconnected{Conn: a.c.name, Endpoint: a.endpoint, Reason: reason, Err: m.err, Uptime: now.Sub(a.connectedAt), At: now})
	if a.ctx.Err() != nil || errors.Is(m.err, ErrClosed) {
		return
	}
	// Any loss redials, after a first jittered delay so that a fleet that
	// lost one server does not come back in lock step.
	a.dial(backoff(0, a.c.cfg.BackoffInitial, a.c.cfg.BackoffMax, a.rnd.Int64N))
}

// backoff is the full-jitter delay before attempt n (from 0): uniform in
// [0, min(max, initial*2^n)). randN returns a value in [0, n).
func backoff(n int, initial, limit time.Duration, randN func(int64) int64) time.Duration {
	d := initial
	for i := 0; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	if d <= 0 {
		return 0
	}
	return time.Duration(randN(int64(d)))
}
