package httppool

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/viable-systems/vsm-connections/actors/pb"
	"github.com/viable-systems/vsm-connections/balancer"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/internal/dispatch"
	"github.com/viable-systems/vsm-connections/internal/offload"
)

// Env is what the pool actor needs from the node.
type Env struct {
	// Events receives PoolResized, EndpointEjected and EndpointRestored;
	// nil publishes nothing.
	Events *eventstream.EventStream
	// MaxRequests bounds the DoRequest messages running at once. Default
	// DefaultMaxRequests.
	MaxRequests int
}

// DefaultMaxRequests is Env.MaxRequests when zero.
const DefaultMaxRequests = 1024

// Props returns the props of the actor owning c. Every incarnation made
// from them (restarts included) shares c: its stats, size and balancer
// state survive a restart. The actor closes c's connections when it stops.
func Props(c *Client, env Env) *actor.Props {
	if env.MaxRequests <= 0 {
		env.MaxRequests = DefaultMaxRequests
	}
	sh := &shared{c: c, env: env, requests: offload.New(env.MaxRequests)}
	// The dispatcher grows each mailbox run's stack at its base: a
	// request answered on a fresh goroutine no longer copies its stack
	// mid-reply (internal/dispatch).
	return actor.PropsFromProducer(func() actor.Actor { return &poolActor{shared: sh} }, actor.WithDispatcher(dispatch.New()))
}

type shared struct {
	c   *Client
	env Env
	// requests run DoRequest messages off the mailbox; they survive a
	// restart and end with the actor.
	requests *offload.Runner
}

type poolActor struct {
	*shared
	self  *actor.PID
	root  *actor.RootContext
	timer *time.Timer
}

func (a *poolActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *actor.Restarting:
		a.halt(false)
	case *actor.Stopping:
		a.halt(true)
	case *endpointChanged:
		a.announce(m.n)
		a.arm()
	case *ejectionDue:
		if b := a.c.Balancer(); b != nil {
			b.Tick(time.Now())
		}
		a.arm()
	case *GetStats:
		ctx.Respond(&StatsResult{Stats: a.c.Stats()})
	case *ResizePool:
		a.resize(ctx, m)
	case *DoRequest:
		a.do(ctx, m)
	// The wire forms (package actors/pb), answered in proto: see remote.go.
	case *pb.HttpDoRequest:
		a.doProto(ctx, m)
	case *pb.HttpGetStats:
		ctx.Respond(statsToProto(a.c.Stats(), nil))
	case *pb.HttpResizePool:
		a.resizeProto(ctx, m)
	}
}

func (a *poolActor) start(ctx actor.Context) {
	a.self = ctx.Self()
	a.root = ctx.ActorSystem().Root
	root, self := a.root, a.self
	f := func(n balancer.Notification) { root.Send(self, &endpointChanged{n: n}) }
	a.c.notify.Store(&f)
	a.arm() // after a restart an endpoint may be ejected already
}

// halt stops this instance's timer; final also cancels the running
// message requests and recycles the transport: its idle connections close
// now, the busy ones when their request ends. The client stays usable (a
// supervisor restarting S1 respawns this actor from the same props); the
// node refuses requests once stopped.
func (a *poolActor) halt(final bool) {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	if !final {
		return
	}
	a.c.notify.Store(nil)
	a.requests.Stop()
	a.c.recycle()
}

// arm sets the timer for the earliest end of an ejection, so restorations
// are announced without waiting for traffic.
func (a *poolActor) arm() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	b := a.c.Balancer()
	if b == nil {
		return
	}
	at, ok := b.Next()
	if !ok {
		return
	}
	root, self := a.root, a.self
	a.timer = time.AfterFunc(max(time.Until(at), 0), func() { root.Send(self, &ejectionDue{}) })
}

func (a *poolActor) announce(n balancer.Notification) {
	if a.env.Events == nil {
		return
	}
	switch n.Kind {
	case balancer.Ejected:
		a.env.Events.Publish(&event.EndpointEjected{Pool: a.c.Name(), Endpoint: n.Addr, For: n.For, At: n.At})
	case balancer.Restored:
		a.env.Events.Publish(&event.EndpointRestored{Pool: a.c.Name(), Endpoint: n.Addr, At: n.At})
	}
}

func (a *poolActor) resize(ctx actor.Context, m *ResizePool) {
	st, err := a.doResize(m.Size)
	if err != nil {
		ctx.Respond(&Failure{Err: err})
		return
	}
	ctx.Respond(&StatsResult{Stats: st})
}

func (a *poolActor) doResize(size int) (Stats, error) {
	from, err := a.c.resize(size)
	if err != nil {
		return Stats{}, err
	}
	if from != size && a.env.Events != nil {
		a.env.Events.Publish(&event.PoolResized{Pool: a.c.Name(), From: from, To: size, At: time.Now()})
	}
	return a.c.Stats(), nil
}

func (a *poolActor) do(ctx actor.Context, m *DoRequest) {
	if ctx.Sender() == nil {
		return // nobody to answer: the work would be wasted
	}
	c := a.c
	a.requests.Run(ctx, m.Deadline, func(rctx context.Context) any {
		resp, err := c.Do(rctx, Request{Method: m.Method, URL: m.URL, Header: m.Header, Body: m.Body, Breaker: m.Breaker})
		if err != nil {
			return &Failure{Err: err}
		}
		return resp
	}, func(err error) any { return &Failure{Err: fmt.Errorf("httppool: pool actor: %w", err)} })
}

// Send asks the pool actor at pid to make req and waits for the reply
// within ctx (10s without a deadline). req.Deadline defaults to ctx's.
// Inside an actor, send a *DoRequest with ctx.Request instead and handle
// the *Response or *Failure in Receive: this blocks.
func Send(ctx context.Context, sender actor.SenderContext, pid *actor.PID, req *DoRequest) (*Response, error) {
	if dl, ok := ctx.Deadline(); ok && req.Deadline.IsZero() {
		cp := *req
		cp.Deadline = dl
		req = &cp
	}
	v, err := ask.Ask[any](ctx, sender, pid, req)
	if err != nil {
		return nil, askError(ctx, err)
	}
	switch r := v.(type) {
	case *Response:
		return r, nil
	case *Failure:
		return nil, r.Err
	}
	return nil, fmt.Errorf("httppool: unexpected reply %T", v)
}

// PoolStats asks the pool actor at pid for its stats.
func PoolStats(ctx context.Context, sender actor.SenderContext, pid *actor.PID) (Stats, error) {
	r, err := ask.Ask[*StatsResult](ctx, sender, pid, &GetStats{})
	if err != nil {
		return Stats{}, askError(ctx, err)
	}
	return r.Stats, nil
}

// Resize asks the pool actor at pid to resize the pool and returns the new
// stats.
func Resize(ctx context.Context, sender actor.SenderContext, pid *actor.PID, size int) (Stats, error) {
	v, err := ask.Ask[any](ctx, sender, pid, &ResizePool{Size: size})
	if err != nil {
		return Stats{}, askError(ctx, err)
	}
	switch r := v.(type) {
	case *StatsResult:
		return r.Stats, nil
	case *Failure:
		return Stats{}, r.Err
	}
	return Stats{}, fmt.Errorf("httppool: unexpected reply %T", v)
}

// askError prefers ctx's own error, so a deadline reads as
// context.DeadlineExceeded whichever timer fired first.
func askError(ctx context.Context, err error) error { return ask.ContextError(ctx, err) }
