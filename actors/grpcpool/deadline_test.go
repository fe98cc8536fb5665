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
// own. Both deadlines are within about Timeout of the call
// (internal/deadline proves the shared one's bounds and its end).
func TestDefaultDeadlineKeepsTheCallersContext(t *testing.T) {
	ts := (&testServer{}).start(t, "")
	type seen struct {
		left  time.Duration
		value any
	}
	got := make(chan seen, 4)
	probe := grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		dl, _ := ctx.Deadline()
		got <- seen{left: time.Until(dl), value: ctx.Value(ctxKey{})}
		return invoker(ctx, method, req, reply, cc, opts...)
	})
	const timeout = 6400 * time.Millisecond // grain 100ms
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Timeout: timeout, DialOptions: []grpc.DialOption{probe}})
	client := testpb.NewTestClient(ch)

	plain := context.WithValue(context.Background(), ctxKey{}, "v")
	cancellable, cancel := context.WithCancel(plain)
	defer cancel()
	for _, ctx := range []context.Context{plain, cancellable} {
		if _, err := client.Unary(ctx, &testpb.Request{Text: "x"}); err != nil {
			t.Fatal(err)
		}
		s := recv(t, bounded(t), got, "the call")
		if s.left > timeout || s.left <= timeout-100*time.Millisecond-time.Second {
			t.Fatalf("deadline %v away, want about %v", s.left, timeout)
		}
		if s.value != "v" {
			t.Fatalf("caller's value = %v, want v", s.value)
		}
	}
}

// The default deadline costs a call with a never-cancelled context (as
// Background) about what the caller's own deadline costs: no timer
// context per call. Both calls carry a deadline on the wire, so the
// server's work is the same.
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
