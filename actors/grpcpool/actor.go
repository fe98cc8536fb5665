package grpcpool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/viable-systems/vsm-connections/actors/pb"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/internal/offload"
)

// Env is what the channel actor needs from the node.
type Env struct {
	// Events receives ConnOpened and ConnClosed; nil publishes nothing.
	Events *eventstream.EventStream
	// MaxRequests bounds the Invoke and OpenServerStream requests running
	// at once. Default DefaultMaxRequests.
	MaxRequests int
}

// DefaultMaxRequests is Env.MaxRequests when zero.
const DefaultMaxRequests = 1024

// Props returns the props of the actor owning ch, to spawn directly or
// under a supervisor (supervisor.Worker(name, Props(ch, env))). Every
// incarnation made from them shares ch: its conns, stats and retry
// tokens survive a restart, and so do the message calls and streams in
// flight. When the actor stops for good it cancels those, and closes the
// extra ClientConns (nobody would close them once idle); the channel
// itself stays usable with one ClientConn until its owner closes it.
func Props(ch *Channel, env Env) *actor.Props {
	if env.MaxRequests <= 0 {
		env.MaxRequests = DefaultMaxRequests
	}
	sh := &shared{ch: ch, env: env, requests: offload.New(env.MaxRequests)}
	return actor.PropsFromProducer(func() actor.Actor { return &channelActor{shared: sh} })
}

type shared struct {
	ch       *Channel
	env      Env
	requests *offload.Runner
	streams  sync.Map // uint64 → *streamState
	nextID   atomic.Uint64
}

type streamState struct {
	credits chan struct{}
	cancel  context.CancelFunc
}

// grant adds up to n credits (never more than the window).
func (s *streamState) grant(n int) {
	for range n {
		select {
		case s.credits <- struct{}{}:
		default:
			return
		}
	}
}

type channelActor struct {
	*shared
	self  *actor.PID
	root  *actor.RootContext
	timer *time.Timer
}

func (a *channelActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *actor.Restarting:
		a.halt(false)
	case *actor.Stopping:
		a.halt(true)
	case *scaleUp:
		a.scale()
	case *idleCheck:
		a.closeIdle(time.Now())
		a.arm()
	case *Invoke:
		a.invoke(ctx, m)
	case *OpenServerStream:
		a.openStream(ctx, m)
	case *AckStream:
		if st, ok := a.streams.Load(m.Stream); ok && m.N > 0 {
			st.(*streamState).grant(m.N)
		}
	case *CancelStream:
		if st, ok := a.streams.Load(m.Stream); ok {
			st.(*streamState).cancel()
		}
	case *GetStats:
		ctx.Respond(&StatsResult{Stats: a.ch.Stats()})
	// The wire form (package actors/pb), answered in proto: see remote.go.
	case *pb.GrpcInvoke:
		a.invokeProto(ctx, m)
	}
}

func (a *channelActor) start(ctx actor.Context) {
	a.self = ctx.Self()
	a.root = ctx.ActorSystem().Root
	root, self := a.root, a.self
	f := func() { root.Send(self, &scaleUp{}) }
	a.ch.notify.Store(&f)
	// A scale-up asked of an instance that then crashed is lost with the
	// message that crashed it; let the next call ask again.
	a.ch.scaling.Store(false)
	a.arm()
}

func (a *channelActor) halt(final bool) {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	if !final {
		return
	}
	a.ch.notify.Store(nil)
	a.requests.Stop()
	before := len(a.ch.Stats().Conns)
	a.ch.reduce()
	if n := len(a.ch.Stats().Conns); n < before {
		a.ch.stats.scaleDown.Add(uint64(before - n))
		a.publish(&ConnClosed{Pool: a.ch.Name(), Conns: n, Reason: "stopped", At: time.Now()})
	}
}

// arm sets the idle timer: a quarter of IdleTimeout, so an idle extra is
// closed between 1 and 1.25 IdleTimeout after its last call.
func (a *channelActor) arm() {
	root, self := a.root, a.self
	a.timer = time.AfterFunc(max(a.ch.cfg.IdleTimeout/4, time.Millisecond), func() { root.Send(self, &idleCheck{}) })
}

func (a *channelActor) publish(ev any) {
	if a.env.Events != nil {
		a.env.Events.Publish(ev)
	}
}

func (a *channelActor) scale() {
	before := a.ch.Stats()
	added, n, err := a.ch.addConn()
	if err != nil || !added {
		return
	}
	a.ch.stats.scaleUps.Add(1)
	a.publish(&ConnOpened{Pool: a.ch.Name(), Conns: n, InFlight: before.InFlight, StreamLimit: before.StreamLimit, At: time.Now()})
}

// closeIdle closes at most one extra conn that carried no call for
// IdleTimeout, the newest first (calls are packed onto the oldest).
func (a *channelActor) closeIdle(now time.Time) {
	p := a.ch.conns.Load()
	if p == nil {
		return
	}
	cs := *p
	for _, c := range cs {
		if calls := c.calls.Load(); calls != c.lastCalls || c.inflight.Load() > 0 {
			c.lastCalls, c.lastActive = calls, now
		}
	}
	for i := len(cs) - 1; i >= 1; i-- {
		if now.Sub(cs[i].lastActive) < a.ch.cfg.IdleTimeout {
			continue
		}
		if a.ch.removeConn(cs[i]) {
			a.ch.stats.scaleDown.Add(1)
			a.publish(&ConnClosed{Pool: a.ch.Name(), Conns: len(cs) - 1, Reason: "idle", At: now})
		}
		return
	}
}

// method resolves a full method name ("/pkg.Service/Method") in the
// protobuf registry.
func method(full string) (protoreflect.MethodDescriptor, error) {
	svc, name, ok := strings.Cut(strings.TrimPrefix(full, "/"), "/")
	if !ok || svc == "" || name == "" {
		return nil, fmt.Errorf("%w: %q is not /package.Service/Method", ErrUnknownMethod, full)
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnknownMethod, full, err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a service", ErrUnknownMethod, svc)
	}
	md := sd.Methods().ByName(protoreflect.Name(name))
	if md == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownMethod, full)
	}
	return md, nil
}

// prepare checks req against md and makes an empty reply.
func prepare(md protoreflect.MethodDescriptor, req proto.Message, serverStream bool) (protoreflect.MessageType, error) {
	if md.IsStreamingClient() || md.IsStreamingServer() != serverStream {
		return nil, fmt.Errorf("%w: %s is not a %s method", ErrUnknownMethod, md.FullName(), map[bool]string{false: "unary", true: "server-streaming"}[serverStream])
	}
	if req == nil || req.ProtoReflect().Descriptor().FullName() != md.Input().FullName() {
		return nil, fmt.Errorf("%w: %s takes a %s", ErrUnknownMethod, md.FullName(), md.Input().FullName())
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		return nil, fmt.Errorf("%w: reply type of %s: %w", ErrUnknownMethod, md.FullName(), err)
	}
	return mt, nil
}

func (a *channelActor) invoke(ctx actor.Context, m *Invoke) {
	if ctx.Sender() == nil {
		return // nobody to answer: the work would be wasted
	}
	ch := a.ch
	a.requests.Run(ctx, m.Deadline, func(rctx context.Context) any {
		reply, err := invoke(rctx, ch, m.Method, m.Request)
		if err != nil {
			return &Failure{Err: err}
		}
		return &InvokeResult{Reply: reply}
	}, func(err error) any {
		return &Failure{Err: busy(err)}
	})
}

// invoke makes one unary call of method with req on ch.
func invoke(ctx context.Context, ch *Channel, full string, req proto.Message) (proto.Message, error) {
	md, err := method(full)
	if err != nil {
		return nil, withCode(codes.Unimplemented, err)
	}
	mt, err := prepare(md, req, false)
	if err != nil {
		return nil, withCode(codes.InvalidArgument, err)
	}
	reply := mt.New().Interface()
	if err := ch.Invoke(ctx, full, req, reply); err != nil {
		return nil, err
	}
	return reply, nil
}

// busy is the failure of a call the actor could not start.
func busy(err error) error {
	return withCode(codes.ResourceExhausted, fmt.Errorf("grpcpool: channel actor: %w", err))
}

func (a *channelActor) openStream(ctx actor.Context, m *OpenServerStream) {
	sender := ctx.Sender()
	if sender == nil {
		return
	}
	window := m.Window
	if window <= 0 {
		window = DefaultWindow
	}
	ch, root := a.ch, a.root
	id := a.nextID.Add(1)
	a.requests.Run(ctx, m.Deadline, func(rctx context.Context) any {
		md, err := method(m.Method)
		if err != nil {
			return &StreamEnded{Stream: id, Err: withCode(codes.Unimplemented, err)}
		}
		mt, err := prepare(md, m.Request, true)
		if err != nil {
			return &StreamEnded{Stream: id, Err: withCode(codes.InvalidArgument, err)}
		}
		rctx, cancel := context.WithCancel(rctx)
		defer cancel()
		st := &streamState{credits: make(chan struct{}, window), cancel: cancel}
		st.grant(window)
		a.streams.Store(id, st)
		defer a.streams.Delete(id)
		root.Send(sender, &StreamOpened{Stream: id})

		s, err := ch.NewStream(rctx, &grpc.StreamDesc{ServerStreams: true}, m.Method)
		if err != nil {
			return &StreamEnded{Stream: id, Err: err}
		}
		if err := s.SendMsg(m.Request); err != nil && !errors.Is(err, io.EOF) {
			return &StreamEnded{Stream: id, Err: err}
		}
		if err := s.CloseSend(); err != nil {
			return &StreamEnded{Stream: id, Err: err}
		}
		for seq := 0; ; seq++ {
			// A credit before each receive: unacknowledged messages stay
			// in grpc-go's buffers and its flow control stops the server.
			select {
			case <-st.credits:
			case <-rctx.Done():
				// Read the cancelled stream to its end, so that its
				// breaker call and in-flight count are settled before
				// the consumer hears of the end.
				for s.RecvMsg(mt.New().Interface()) == nil {
				}
				return &StreamEnded{Stream: id, Err: status.FromContextError(rctx.Err()).Err()}
			}
			reply := mt.New().Interface()
			if err := s.RecvMsg(reply); err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				return &StreamEnded{Stream: id, Err: err}
			}
			root.Send(sender, &StreamMessage{Stream: id, Seq: seq, Msg: reply})
		}
	}, func(err error) any {
		return &StreamEnded{Stream: id, Err: withCode(codes.ResourceExhausted, fmt.Errorf("grpcpool: channel actor: %w", err))}
	})
}

// Call asks the channel actor at pid for a unary call of method with req
// and waits for the reply within ctx (10s without a deadline); ctx's
// deadline is the call's Deadline, and so goes on the wire. Inside an
// actor, send an *Invoke with ctx.Request instead and handle the
// *InvokeResult or *Failure in Receive: this blocks.
func Call(ctx context.Context, sender actor.SenderContext, pid *actor.PID, method string, req proto.Message) (proto.Message, error) {
	m := &Invoke{Method: method, Request: req}
	if dl, ok := ctx.Deadline(); ok {
		m.Deadline = dl
	}
	v, err := ask.Ask[any](ctx, sender, pid, m)
	if err != nil {
		return nil, askError(ctx, err)
	}
	switch r := v.(type) {
	case *InvokeResult:
		return r.Reply, nil
	case *Failure:
		return nil, r.Err
	}
	return nil, fmt.Errorf("grpcpool: unexpected reply %T", v)
}

// ChannelStats asks the channel actor at pid for its stats.
func ChannelStats(ctx context.Context, sender actor.SenderContext, pid *actor.PID) (Stats, error) {
	r, err := ask.Ask[*StatsResult](ctx, sender, pid, &GetStats{})
	if err != nil {
		return Stats{}, askError(ctx, err)
	}
	return r.Stats, nil
}

// askError prefers ctx's own error, so a deadline reads as
// context.DeadlineExceeded (and DeadlineExceeded for status.Code)
// whichever timer fired first.
func askError(ctx context.Context, err error) error {
	named := ask.ContextError(ctx, err)
	if named == err {
		return err
	}
	code := codes.DeadlineExceeded
	if cerr := ctx.Err(); cerr != nil {
		code = status.FromContextError(cerr).Code()
	}
	return withCode(code, named)
}
