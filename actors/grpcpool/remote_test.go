package grpcpool

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// The proto form of Invoke (the request packed in an Any), through a
// marshal round trip, gets Call's answers: the reply, and errors with
// their sentinels and gRPC codes.
func TestRemoteCallSameAnswers(t *testing.T) {
	cs := &codeServer{}
	ts := (&testServer{unary: cs.handle}).start(t, "")
	sys := actortest.NewSystem(t)
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Retry: RetryPolicy{MaxAttempts: 1}})
	pid := sys.Root.Spawn(Props(ch, Env{}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	ctx := bounded(t)
	wa := actortest.WireAsker{Root: sys.Root}

	r, err := RemoteCall(ctx, wa, pid, unaryMethod, &testpb.Request{Text: "by wire"})
	if rep, ok := r.(*testpb.Reply); err != nil || !ok || rep.GetText() != "by wire" {
		t.Fatalf("reply %T %v %v, want *testpb.Reply echoing", r, r, err)
	}
	cs.code.Store(uint32(codes.NotFound))
	_, rerr := RemoteCall(ctx, wa, pid, unaryMethod, &testpb.Request{})
	_, lerr := Call(ctx, sys.Root, pid, unaryMethod, &testpb.Request{})
	if status.Code(rerr) != codes.NotFound || rerr.Error() != lerr.Error() {
		t.Fatalf("server error: %v, local %v", rerr, lerr)
	}
	if _, err := RemoteCall(ctx, wa, pid, "/vsm.test.v1.Test/Nope", &testpb.Request{}); !errors.Is(err, ErrUnknownMethod) || status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v", err)
	}
	if _, err := RemoteCall(ctx, wa, pid, unaryMethod, &testpb.Reply{}); !errors.Is(err, ErrUnknownMethod) || status.Code(err) != codes.InvalidArgument {
		t.Fatalf("wrong request type: %v", err)
	}
	st, err := ChannelStats(ctx, sys.Root, pid)
	if err != nil || st.Codes["OK"] != 1 || st.Codes["NotFound"] != 2 {
		t.Fatalf("stats %+v, %v", st, err)
	}
}
