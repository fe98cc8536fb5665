package grpcpool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/supervisor"
)

const (
	unaryMethod  = "/vsm.test.v1.Test/Unary"
	streamMethod = "/vsm.test.v1.Test/ServerStream"
)

func TestInvokeByMessage(t *testing.T) {
	cs := &codeServer{}
	ts := (&testServer{unary: cs.handle}).start(t, "")
	sys := actortest.NewSystem(t)
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Retry: RetryPolicy{MaxAttempts: 1}})
	pid := sys.Root.Spawn(Props(ch, Env{}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	ctx := bounded(t)

	r, err := Call(ctx, sys.Root, pid, unaryMethod, &testpb.Request{Text: "by message"})
	if err != nil {
		t.Fatal(err)
	}
	if rep, ok := r.(*testpb.Reply); !ok || rep.GetText() != "by message" {
		t.Fatalf("reply %T %v, want *testpb.Reply echoing", r, r)
	}

	cs.code.Store(uint32(codes.NotFound))
	if _, err := Call(ctx, sys.Root, pid, unaryMethod, &testpb.Request{}); status.Code(err) != codes.NotFound {
		t.Fatalf("server error by message: %v, want NotFound", err)
	}
	if _, err := Call(ctx, sys.Root, pid, "/vsm.test.v1.Test/Nope", &testpb.Request{}); !errors.Is(err, ErrUnknownMethod) || status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v", err)
	}
	if _, err := Call(ctx, sys.Root, pid, unaryMethod, &testpb.Reply{}); !errors.Is(err, ErrUnknownMethod) || status.Code(err) != codes.InvalidArgument {
		t.Fatalf("wrong request type: %v", err)
	}
	if _, err := Call(ctx, sys.Root, pid, streamMethod, &testpb.Request{}); !errors.Is(err, ErrUnknownMethod) {
		t.Fatalf("streaming method by Invoke: %v", err)
	}
	st, err := ChannelStats(ctx, sys.Root, pid)
	if err != nil || st.Codes["OK"] != 1 || st.Codes["NotFound"] != 1 {
		t.Fatalf("stats %+v, %v", st, err)
	}
}

func TestMessageDeadlineGoesOnTheWire(t *testing.T) {
	ts, wire, seen := slowServer(t)
	sys := actortest.NewSystem(t)
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}})
	pid := sys.Root.Spawn(Props(ch, Env{}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()

	const d = 150 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, err := Call(ctx, sys.Root, pid, unaryMethod, &testpb.Request{})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if left := recv(t, bounded(t), wire, "the server's deadline"); left <= 0 || left > d {
		t.Fatalf("server's deadline %v away, want within (0, %v]", left, d)
	}
	recv(t, bounded(t), seen, "the server's cancellation")
}

// consumer is an actor reading a server stream by message: it forwards
// what it gets to the test and acknowledges only when told to.
type consumer struct {
	channel *actor.PID
	window  int
	out     chan any
	acked   int
	stream  uint64
	// violated records a message that came past the window.
	violated chan int
}

type ackOne struct{}
type cancelIt struct{}

func (c *consumer) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *StreamOpened:
		c.stream = m.Stream
		c.out <- m
	case *StreamMessage:
		if m.Seq >= c.acked+c.window {
			c.violated <- m.Seq
		}
		c.out <- m
	case *StreamEnded:
		c.out <- m
	case *ackOne:
		c.acked++
		ctx.Send(c.channel, &AckStream{Stream: c.stream, N: 1})
	case *cancelIt:
		ctx.Send(c.channel, &CancelStream{Stream: c.stream})
	}
}

func TestServerStreamToActorWithBackpressure(t *testing.T) {
	ts := (&testServer{}).start(t, "")
	sys := actortest.NewSystem(t)
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}})
	pid := sys.Root.Spawn(Props(ch, Env{}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	ctx := bounded(t)

	c := &consumer{channel: pid, window: 2, out: make(chan any, 32), violated: make(chan int, 32)}
	cpid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return c }))
	defer func() { _ = sys.Root.StopFuture(cpid).Wait() }()
	sys.Root.RequestWithCustomSender(pid, &OpenServerStream{Method: streamMethod, Request: &testpb.Request{Text: "s", Count: 6}, Window: 2}, cpid)

	if _, ok := recv(t, ctx, c.out, "StreamOpened").(*StreamOpened); !ok {
		t.Fatal("first message is not StreamOpened")
	}
	var seqs []int
	for len(seqs) < 6 {
		switch m := recv(t, ctx, c.out, "a stream message").(type) {
		case *StreamMessage:
			if m.Msg.(*testpb.Reply).GetSeq() != int32(m.Seq) {
				t.Fatalf("message %d carries seq %d", m.Seq, m.Msg.(*testpb.Reply).GetSeq())
			}
			seqs = append(seqs, m.Seq)
			sys.Root.Send(cpid, &ackOne{})
		default:
			t.Fatalf("got %T after %v, want a StreamMessage", m, seqs)
		}
	}
	end, ok := recv(t, ctx, c.out, "StreamEnded").(*StreamEnded)
	if !ok || end.Err != nil {
		t.Fatalf("end = %+v, want a clean StreamEnded", end)
	}
	select {
	case s := <-c.violated:
		t.Fatalf("message %d was delivered past the window of 2", s)
	default:
	}
}

func TestServerStreamToActorCancel(t *testing.T) {
	ts := (&testServer{}).start(t, "")
	sys := actortest.NewSystem(t)
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}})
	pid := sys.Root.Spawn(Props(ch, Env{}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	ctx := bounded(t)
	c := &consumer{channel: pid, window: 1, out: make(chan any, 32), violated: make(chan int, 32)}
	cpid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return c }))
	defer func() { _ = sys.Root.StopFuture(cpid).Wait() }()
	sys.Root.RequestWithCustomSender(pid, &OpenServerStream{Method: streamMethod, Request: &testpb.Request{Count: 100}, Window: 1}, cpid)
	recv(t, ctx, c.out, "StreamOpened")
	if _, ok := recv(t, ctx, c.out, "message 0").(*StreamMessage); !ok {
		t.Fatal("want a first message")
	}
	sys.Root.Send(cpid, &cancelIt{})
	end, ok := recv(t, ctx, c.out, "StreamEnded").(*StreamEnded)
	if !ok || status.Code(end.Err) != codes.Canceled {
		t.Fatalf("after cancel: %+v, want StreamEnded with Canceled", end)
	}
	if st := ch.Stats(); st.InFlight != 0 {
		t.Fatalf("%d still in flight after the cancel", st.InFlight)
	}
}

// Under a supervisor, a crash restarts the actor and the channel's conns
// and stats survive; the restarted actor still scales.
func TestActorRestartKeepsChannel(t *testing.T) {
	ts := (&testServer{}).start(t, "")
	sys := actortest.NewSystem(t)
	ch := newChannel(t, Config{Name: "sup", Endpoints: []string{ts.addr}})
	mw, starts := actortest.Crasher(4)
	props := Props(ch, Env{}).Configure(actor.WithReceiverMiddleware(mw))
	sup := sys.Root.Spawn(supervisor.Props("s1", supervisor.Config{}, supervisor.Env{}, supervisor.Worker("grpc/sup", props)))
	defer func() { _ = sys.Root.StopFuture(sup).Wait() }()
	ctx := bounded(t)
	if n := recv(t, ctx, starts, "first start"); n != 1 {
		t.Fatalf("start %d", n)
	}
	kids, err := supervisor.List(ctx, sys.Root, sup)
	if err != nil || len(kids) != 1 {
		t.Fatalf("children %v, %v", kids, err)
	}
	pid := kids[0].PID
	if _, err := Call(ctx, sys.Root, pid, unaryMethod, &testpb.Request{}); err != nil {
		t.Fatal(err)
	}
	sys.Root.Send(pid, &actortest.Crash{})
	if n := recv(t, ctx, starts, "restart"); n != 2 {
		t.Fatalf("start %d, want 2", n)
	}
	st, err := ChannelStats(ctx, sys.Root, pid)
	if err != nil || st.Codes["OK"] != 1 || len(st.Conns) != 1 || st.Conns[0].ID != 1 {
		t.Fatalf("stats after restart %+v, %v: want the same conn and counts", st, err)
	}
	if ch.notify.Load() == nil {
		t.Fatal("the restarted actor does not listen for scale-ups")
	}
}
