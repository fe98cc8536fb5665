package breakeractor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/viable-systems/vsm-connections/actors/pb"
	"github.com/viable-systems/vsm-connections/algedonic"
	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/dispatch"
	"github.com/viable-systems/vsm-connections/internal/offload"
)

// Env is what the actor needs from the node.
type Env struct {
	// Events receives an *event.BreakerStateChanged per transition; nil
	// publishes nothing.
	Events *eventstream.EventStream
	// Alerts receives the breaker's algedonic alerts; nil drops them.
	Alerts algedonic.Raiser
	// Name is the stable name used in events and alerts, e.g.
	// "s1/breaker/api". Default: the breaker's own name.
	Name string
	// MaxCalls bounds the Call messages running at once. Default 1024.
	MaxCalls int
}

// DefaultMaxCalls is Env.MaxCalls when zero.
const DefaultMaxCalls = 1024

// maxBacklog bounds the transitions kept before the actor first starts.
const maxBacklog = 4096

// CriticalAfter is the number of recoveries in a row whose probe failed that
// raises a Critical alert (and every multiple of it).
const CriticalAfter = 3

// Props returns the props of the actor owning b. Every incarnation made
// from these props (restarts included) shares b and one subscription to its
// transitions.
func Props(b *cb.Breaker, env Env) *actor.Props {
	if env.Name == "" {
		env.Name = b.Name()
	}
	if env.Alerts == nil {
		env.Alerts = algedonic.Nop{}
	}
	if env.MaxCalls <= 0 {
		env.MaxCalls = DefaultMaxCalls
	}
	st := b.Stats()
	sh := &shared{b: b, env: env, calls: offload.New(env.MaxCalls), seenGen: st.Generation, seenState: st.State}
	// Subscribe now, not in Started, so that no transition made before
	// the actor runs is merged into another: they wait in the backlog.
	sh.unsub = b.Subscribe(sh.listen)
	// The dispatcher grows each mailbox run's stack at its base: a
	// request answered on a fresh goroutine no longer copies its stack
	// mid-reply (internal/dispatch).
	return actor.PropsFromProducer(func() actor.Actor { return &breakerActor{shared: sh} }, actor.WithDispatcher(dispatch.New()))
}

// listen is the breaker's listener. The breaker calls it one transition at
// a time, in generation order; it sends each to the actor, or keeps it in
// the backlog until the actor has started, so the actor sees them all, in
// order.
func (sh *shared) listen(t cb.Transition) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.self == nil {
		// Bounded, for props that are never spawned: past it the newer
		// ones are not kept, and catchUp reports what they did as one
		// transition.
		if len(sh.backlog) < maxBacklog {
			sh.backlog = append(sh.backlog, t)
		}
		return
	}
	sh.root.Send(sh.self, &transitioned{t: t})
}

// shared outlives an actor instance: the subscription stays in place while
// the actor restarts, and the transitions it sends wait in the mailbox for
// the next instance.
type shared struct {
	b     *cb.Breaker
	env   Env
	mu    sync.Mutex
	unsub func()
	// Where listen sends (nil until the first Started), and what it kept
	// before that; under mu.
	root    *actor.RootContext
	self    *actor.PID
	backlog []cb.Transition
	// calls run Call messages off the mailbox; they survive a restart and
	// end with the actor.
	calls *offload.Runner
	// The last transition published, read and written only by the actor.
	seenGen   uint64
	seenState cb.State
}

type breakerActor struct {
	*shared
	self  *actor.PID
	root  *actor.RootContext
	timer *time.Timer
}

func (a *breakerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *actor.Restarting:
		a.halt(false)
	case *actor.Stopping:
		a.halt(true)
	case *transitioned:
		a.publish(m.t)
		a.arm()
	case *recoveryDue:
		// The recovery timeout, or the probe timeout of a half-open phase
		// whose probes never reported (counted in Stats.ProbeTimeouts).
		a.b.Tick(a.b.Now())
		a.arm()
	case *GetStats:
		ctx.Respond(&StatsResult{Stats: a.b.Stats()})
	case *OpenBreaker:
		a.b.Open()
		ctx.Respond(&StatsResult{Stats: a.b.Stats()})
	case *CloseBreaker:
		a.b.Close()
		ctx.Respond(&StatsResult{Stats: a.b.Stats()})
	case *ResetBreaker:
		a.b.Reset()
		ctx.Respond(&StatsResult{Stats: a.b.Stats()})
	case *Call:
		a.call(ctx, m)
	// The wire forms (package actors/pb), answered in proto: see remote.go.
	case *pb.BreakerGetStats:
		ctx.Respond(statsToProto(a.b.Stats()))
	case *pb.BreakerOpen:
		a.b.Open()
		ctx.Respond(statsToProto(a.b.Stats()))
	case *pb.BreakerClose:
		a.b.Close()
		ctx.Respond(statsToProto(a.b.Stats()))
	case *pb.BreakerReset:
		a.b.Reset()
		ctx.Respond(statsToProto(a.b.Stats()))
	}
}

func (a *breakerActor) start(ctx actor.Context) {
	a.self = ctx.Self()
	a.root = ctx.ActorSystem().Root
	a.mu.Lock()
	fresh := a.unsub == nil
	if fresh {
		// Spawned again after a stop ended the subscription.
		a.shared.self = nil
		a.unsub = a.b.Subscribe(a.listen)
	}
	backlog := a.backlog
	a.backlog, a.shared.root, a.shared.self = nil, a.root, a.self
	a.mu.Unlock()
	// Transitions made before this Started are in the backlog; later ones
	// come through the mailbox, after this message. After a restart they
	// wait in the mailbox, in order.
	for _, t := range backlog {
		a.publish(t)
	}
	if fresh || len(backlog) == maxBacklog {
		// A new subscription, or a full backlog, has a gap to fill.
		a.catchUp()
	}
	a.arm() // after a restart the breaker may already be open
}

// catchUp publishes, as one transition, whatever the breaker did while no
// listener was subscribed (between Props and the first Started). Later
// deliveries of transitions it covers are skipped by generation.
func (a *breakerActor) catchUp() {
	st := a.b.Stats()
	if st.Generation <= a.seenGen {
		return
	}
	a.publish(cb.Transition{
		Name: a.b.Name(), From: a.seenState, To: st.State, Reason: st.LastReason,
		At: st.LastTransition, Generation: st.Generation, FailedProbes: st.FailedProbes,
	})
}

// halt stops this instance's timer; final also cancels the running calls
// and ends the subscription (the actor will not come back). Calls and
// subscription survive a restart.
func (a *breakerActor) halt(final bool) {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	if final {
		a.calls.Stop()
		a.mu.Lock()
		if a.unsub != nil {
			a.unsub()
			a.unsub = nil
		}
		a.mu.Unlock()
	}
}

// arm sets the recovery timer from the breaker's next timed transition.
func (a *breakerActor) arm() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	at, ok := a.b.NextTransition()
	if !ok {
		return
	}
	root, self := a.root, a.self
	d := max(at.Sub(a.b.Now()), 0)
	a.timer = time.AfterFunc(d, func() { root.Send(self, &recoveryDue{}) })
}

// publish sends the event and raises the alerts of one transition. The
// breaker delivers transitions in generation order, so only one covered by
// catchUp can be older than the last one published: it is skipped.
func (a *breakerActor) publish(t cb.Transition) {
	if t.Generation <= a.seenGen {
		return
	}
	a.seenGen, a.seenState = t.Generation, t.To
	if t.From == t.To && !t.Forced {
		return
	}
	if a.env.Events != nil {
		a.env.Events.Publish(&event.BreakerStateChanged{
			Name: a.env.Name, From: t.From.String(), To: t.To.String(), Reason: string(t.Reason),
			Forced: t.Forced, Generation: t.Generation, At: t.At,
		})
	}
	switch {
	case t.From == cb.Closed && t.To == cb.Open && t.Reason != cb.ReasonManualOpen && t.Reason != cb.ReasonClusterOpen:
		// A breaker held open for the cluster did not trip here: the node
		// where it tripped raises the Warning.
		a.env.Alerts.Raise(algedonic.Warning, a.env.Name, fmt.Sprintf("breaker opened (%s)", t.Reason))
	case (t.Reason == cb.ReasonProbeFailed || t.Reason == cb.ReasonProbeTimeout) &&
		t.FailedProbes > 0 && t.FailedProbes%CriticalAfter == 0:
		a.env.Alerts.Raise(algedonic.Critical, a.env.Name,
			fmt.Sprintf("breaker failed its half-open probe %d recoveries in a row", t.FailedProbes))
	}
}

func (a *breakerActor) call(ctx actor.Context, m *Call) {
	fail := func(err error) any { return &CallResult{Err: fmt.Errorf("breaker actor: %w", err)} }
	if m.Fn == nil {
		if ctx.Sender() != nil {
			ctx.Respond(&CallResult{Err: fmt.Errorf("breaker actor: Call without Fn")})
		}
		return
	}
	b, fn := a.b, m.Fn
	a.calls.Run(ctx, m.Deadline, func(c context.Context) any {
		return &CallResult{Err: b.Call(c, fn)}
	}, fail)
}
