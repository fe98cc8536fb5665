package fault

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestWithDeadlineReturnsAtDeadlineWhenFnIgnoresCtx(t *testing.T) {
	release := make(chan struct{})
	returned := make(chan struct{})
	start := time.Now()
	err := WithDeadline(context.Background(), 30*time.Millisecond, func(context.Context) error {
		defer close(returned)
		<-release // ignores its context
		return nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("returned before the deadline: %v", el)
	}
	// fn outlives the call until it returns; then its goroutine is gone
	// (goleak checks at the end of the package).
	close(release)
	<-returned
}

func TestWithDeadlineResults(t *testing.T) {
	// fn's own result, with a deadline on its context.
	err := WithDeadline(context.Background(), time.Minute, func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline")
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("err = %v", err)
	}
	// fn that honours its context.
	err = WithDeadline(context.Background(), 10*time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// The parent's cancellation wins over the deadline.
	ctx, cancel := context.WithCancel(context.Background())
	err = WithDeadline(ctx, time.Hour, func(context.Context) error { cancel(); <-ctx.Done(); return nil })
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	// A passed deadline does not run fn.
	ran := false
	if err := WithDeadline(context.Background(), 0, func(context.Context) error { ran = true; return nil }); !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Fatalf("err %v ran %v", err, ran)
	}
}

func TestWithDeadlinePanicReachesCaller(t *testing.T) {
	defer func() {
		if p := recover(); p != "kaboom" {
			t.Fatalf("recovered %v", p)
		}
	}()
	WithDeadline(context.Background(), time.Minute, func(context.Context) error { panic("kaboom") })
}

func TestRetryWithDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var calls atomic.Int32 // the abandoned attempt's goroutine wrote it
	start := time.Now()
	err := RetryWithDeadline(context.Background(), 50*time.Millisecond, func(context.Context) error {
		if calls.Add(1) == 1 {
			return errBoom
		}
		<-release // the second attempt hangs, ignoring its context
		return nil
	}, BaseDelay(time.Millisecond), WithJitter(NoJitter), MaxAttempts(5))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Fatalf("returned early: %v", el)
	}
	if calls.Load() != 2 {
		t.Fatalf("calls %d", calls.Load())
	}

	// A delay that would pass the overall deadline is not slept.
	n := 0
	err = RetryWithDeadline(context.Background(), time.Hour, func(context.Context) error { n++; return errBoom },
		BaseDelay(2*time.Hour), WithJitter(NoJitter))
	if !errors.Is(err, ErrDeadline) || !errors.Is(err, errBoom) || n != 1 {
		t.Fatalf("err %v calls %d", err, n)
	}
}
