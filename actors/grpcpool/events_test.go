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
	// One quiet subscriber (the node's own metrics, say): no events yet.
	quiet := sys.EventStream.Subscribe(func(any) {})
	defer sys.EventStream.Unsubscribe(quiet)
	ch := newChannel(t, Config{Name: "ev", Endpoints: []string{ts.addr}, Events: sys.EventStream, QuietSubscribers: 1,
		Retry: RetryPolicy{MaxAttempts: 1}})
	client := testpb.NewTestClient(ch)
	ctx := bounded(t)
	if _, err := client.Unary(ctx, &testpb.Request{}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *event.AdapterRequest, 8)
	sub := sys.EventStream.Subscribe(func(ev any) {
		if e, ok := ev.(*event.AdapterRequest); ok {
			got <- e
		}
	})
	defer sys.EventStream.Unsubscribe(sub)

	cs.code.Store(uint32(codes.NotFound))
	if _, err := client.Unary(ctx, &testpb.Request{}); status.Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	e := recv(t, ctx, got, "adapter.request")
	if e.Protocol != "grpc" || e.Pool != "ev" || e.Method != "/vsm.test.v1.Test/Unary" || e.Status != int(codes.NotFound) || e.Err == "" || e.Endpoint != ts.addr {
		t.Fatalf("event %+v", e)
	}
	select {
	case e := <-got:
		t.Fatalf("a second event %+v for one call", e)
	default:
	}
	if st := ch.Stats(); st.Calls != 2 {
		t.Fatalf("calls %d, want 2 (the unwatched one counted too)", st.Calls)
	}
}
