package grpcpool

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

func TestAdapterRequestEvents(t *testing.T) {
	cs := &codeServer{}
	ts := (&testServer{unary: cs.handle}).start(t, "")
	sys := actortest.NewSystem(t)
	got := make(chan *event.AdapterRequest, 8)
	sub := sys.EventStream.Subscribe(func(ev any) {
		if e, ok := ev.(*event.AdapterRequest); ok {
			got <- e
		}
	})
	defer sys.EventStream.Unsubscribe(sub)
	ctx := bounded(t)

	// Without RequestEvents a call publishes nothing, whoever subscribes;
	// it is counted all the same.
	quiet := newChannel(t, Config{Name: "quiet", Endpoints: []string{ts.addr}, Events: sys.EventStream,
		Retry: RetryPolicy{MaxAttempts: 1}})
	if _, err := testpb.NewTestClient(quiet).Unary(ctx, &testpb.Request{}); err != nil {
		t.Fatal(err)
	}
	if st := quiet.Stats(); st.Calls != 1 {
		t.Fatalf("calls %d, want 1", st.Calls)
	}

	ch := newChannel(t, Config{Name: "ev", Endpoints: []string{ts.addr}, Events: sys.EventStream, RequestEvents: true,
		Retry: RetryPolicy{MaxAttempts: 1}})
	cs.code.Store(uint32(codes.NotFound))
	if _, err := testpb.NewTestClient(ch).Unary(ctx, &testpb.Request{}); status.Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	e := recv(t, ctx, got, "adapter.request")
	if e.Protocol != "grpc" || e.Pool != "ev" || e.Method != "/vsm.test.v1.Test/Unary" || e.Status != int(codes.NotFound) || e.Err == "" || e.Endpoint != ts.addr {
		t.Fatalf("event %+v (the quiet channel's call published one?)", e)
	}
	select {
	case e := <-got:
		t.Fatalf("a second event %+v for one call", e)
	default:
	}
}
