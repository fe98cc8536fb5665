package grpcpool

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
)

type ctxKey struct{}

// A caller's context that is never cancelled gets the shared deadline
// and keeps its values; one that can be cancelled gets a deadline of its
// own. grpc-go is given a context that ends (Done is set) but shows no
// deadline to send, with the caller's values. TestDefaultTimeoutStaysOffTheWire
// proves where it ends, and internal/deadline the shared one's bounds.
func TestDefaultDeadlineKeepsTheCallersContext(t *testing.T) {
	ts := (&testServer{}).start(t, "")
	type seen struct {
		deadline, done bool
		value          any
	}
	got := make(chan seen, 4)
	probe := grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		_, ok := ctx.Deadline()
		got <- seen{deadline: ok, done: ctx.Done() != nil, value: ctx.Value(ctxKey{})}
		return invoker(ctx, method, req, reply, cc, opts...)
	})
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, DialOptions: []grpc.DialOption{probe}})
	client := testpb.NewTestClient(ch)

	plain := context.WithValue(context.Background(), ctxKey{}, "v")
	cancellable, cancel := context.WithCancel(plain)
	defer cancel()
	for _, ctx := range []context.Context{plain, cancellable} {
		if _, err := client.Unary(ctx, &testpb.Request{Text: "x"}); err != nil {
			t.Fatal(err)
		}
		if s := recv(t, bounded(t), got, "the call"); s != (seen{deadline: false, done: true, value: "v"}) {
			t.Fatalf("grpc-go was given %+v, want {deadline:false done:true value:v}", s)
		}
	}
}

// The default deadline costs a call with a never-cancelled context (as
// Background) about what the caller's own deadline costs: no timer
// context per call.
func TestDefaultDeadlineAllocations(t *testing.T) {
	ts := (&testServer{}).start(t, "")
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}})
	client := testpb.NewTestClient(ch)
	req := &testpb.Request{Text: "allocs"}
	withOwn, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	call := func(ctx context.Context) func() {
		return func() {
			if _, err := client.Unary(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
	}
	call(withOwn)() // connect
	own := testing.AllocsPerRun(500, call(withOwn))
	dflt := testing.AllocsPerRun(500, call(context.Background()))
	t.Logf("allocs per call: own deadline %.1f, default deadline %.1f", own, dflt)
	if dflt-own > 2 {
		t.Fatalf("the default deadline costs %.1f allocations per call more than the caller's own, want at most 2", dflt-own)
	}
}

// Concurrent calls with never-cancelled contexts share and replace the
// deadline slots under -race; every call succeeds and is counted once.
func TestSharedDeadlineConcurrentCalls(t *testing.T) {
	ts := (&testServer{}).start(t, "")
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Timeout: 640 * time.Millisecond}) // grain 10ms
	client := testpb.NewTestClient(ch)
	const callers, each = 64, 20
	errs := make(chan error, callers)
	for range callers {
		go func() {
			for range each {
				if _, err := client.Unary(context.Background(), &testpb.Request{Text: "c"}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range callers {
		if err := recv(t, bounded(t), errs, "a caller"); err != nil {
			t.Fatal(err)
		}
	}
	if st := ch.Stats(); st.Codes["OK"] != callers*each || st.Calls != callers*each {
		t.Fatalf("stats %+v, want %d OK calls", st, callers*each)
	}
}
