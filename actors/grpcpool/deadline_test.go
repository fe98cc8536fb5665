package grpcpool

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
)

// Calls that start within one grain share a deadline context; each one's
// deadline is at most Timeout away and more than Timeout - grain.
func TestSharedDeadlineSlots(t *testing.T) {
	d := newSharedDeadline(640 * time.Millisecond)
	if d.grain != 10*time.Millisecond {
		t.Fatalf("grain = %v, want 10ms", d.grain)
	}
	t0 := time.Now()
	a, b, c := d.ctx(t0), d.ctx(t0.Add(9*time.Millisecond)), d.ctx(t0.Add(10*time.Millisecond))
	if a != b || b == c {
		t.Fatalf("slots: a==b %v, b==c %v; want a and b shared, c new", a == b, b == c)
	}
	for _, tc := range []struct {
		ctx   context.Context
		start time.Time
	}{{a, t0}, {b, t0.Add(9 * time.Millisecond)}, {c, t0.Add(10 * time.Millisecond)}} {
		dl, ok := tc.ctx.Deadline()
		if left := dl.Sub(tc.start); !ok || left > d.timeout || left <= d.timeout-d.grain {
			t.Fatalf("deadline %v after the call's start, want within (%v, %v]", left, d.timeout-d.grain, d.timeout)
		}
	}
	if big := newSharedDeadline(time.Hour); big.grain != 100*time.Millisecond {
		t.Fatalf("grain of 1h = %v, want the 100ms cap", big.grain)
	}
}

type ctxKey struct{}

// A caller's context that is never cancelled gets the shared deadline
// and keeps its values; one that can be cancelled gets a deadline of its
// own. Both deadlines are within
// (Timeout - grain, Timeout] of the call, and both end the call at the
// deadline with context.Cause reporting it.
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
	// The shared deadline's context ends at its deadline, with its cause.
	dctx := &withDeadline{Context: plain, dl: newSharedDeadline(20 * time.Millisecond).ctx(time.Now())}
	select {
	case <-dctx.Done():
	case <-bounded(t).Done():
		t.Fatal("shared deadline never ended")
	}
	if !errors.Is(dctx.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(dctx), context.DeadlineExceeded) {
		t.Fatalf("err %v, cause %v; want DeadlineExceeded", dctx.Err(), context.Cause(dctx))
	}
	// A child (as grpc-go makes per call) ends with it.
	child, stop := context.WithCancel(&withDeadline{Context: plain, dl: newSharedDeadline(20 * time.Millisecond).ctx(time.Now())})
	defer stop()
	select {
	case <-child.Done():
	case <-bounded(t).Done():
		t.Fatal("child of the shared deadline never ended")
	}
	if !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Fatalf("child err = %v, want DeadlineExceeded", child.Err())
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
