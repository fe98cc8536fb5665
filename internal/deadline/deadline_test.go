package deadline

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Calls that start within one grain share a deadline context; each one's
// deadline is at most the timeout away and more than timeout - grain.
func TestSharedSlots(t *testing.T) {
	d := NewShared(640*time.Millisecond, 10*time.Millisecond)
	t0 := time.Now()
	a, b, c := d.At(t0), d.At(t0.Add(9*time.Millisecond)), d.At(t0.Add(10*time.Millisecond))
	if a != b || b == c {
		t.Fatalf("slots: a==b %v, b==c %v; want a and b shared, c new", a == b, b == c)
	}
	for _, tc := range []struct {
		ctx   context.Context
		start time.Time
	}{{a, t0}, {b, t0.Add(9 * time.Millisecond)}, {c, t0.Add(10 * time.Millisecond)}} {
		dl, ok := tc.ctx.Deadline()
		if left := dl.Sub(tc.start); !ok || left > d.Timeout() || left <= d.Timeout()-d.Grain() {
			t.Fatalf("deadline %v after the call's start, want within (%v, %v]", left, d.Timeout()-d.Grain(), d.Timeout())
		}
	}
}

type key struct{}

// Bound keeps the caller's values and takes the shared deadline; it ends
// at the deadline with context.Cause reporting it, and so does a child
// context (as grpc-go makes one per call). Background gets the shared
// context itself.
func TestBound(t *testing.T) {
	wait := func(ctx context.Context) {
		t.Helper()
		limit, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		select {
		case <-ctx.Done():
		case <-limit.Done():
			t.Fatal("the shared deadline never ended")
		}
	}
	if long := NewShared(time.Hour, time.Hour); long.Bound(context.Background()) != long.At(time.Now()) {
		t.Fatal("Background is not given the shared context itself")
	}
	d := NewShared(20*time.Millisecond, time.Millisecond)
	plain := context.WithValue(context.Background(), key{}, "v")
	ctx := d.Bound(plain)
	if ctx.Value(key{}) != "v" {
		t.Fatalf("value = %v, want v", ctx.Value(key{}))
	}
	if _, ok := ctx.Deadline(); !ok {
		t.Fatal("no deadline")
	}
	wait(ctx)
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Fatalf("err %v, cause %v; want DeadlineExceeded", ctx.Err(), context.Cause(ctx))
	}
	child, stop := context.WithCancel(d.Bound(plain))
	defer stop()
	wait(child)
	if !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Fatalf("child err = %v, want DeadlineExceeded", child.Err())
	}
}
