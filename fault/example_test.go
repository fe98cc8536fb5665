package fault_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/viable-systems/vsm-connections/fault"
)

func ExampleRetry() {
	calls := 0
	err := fault.Retry(context.Background(), func(context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("connection reset")
		}
		return nil
	},
		fault.MaxAttempts(5),
		fault.BaseDelay(time.Millisecond),
		fault.WithJitter(fault.NoJitter),
		fault.OnRetry(func(attempt int, err error, next time.Duration) {
			fmt.Printf("attempt %d: %v; retrying in %v\n", attempt, err, next)
		}),
	)
	fmt.Println("err:", err, "calls:", calls)
	// Output:
	// attempt 1: connection reset; retrying in 1ms
	// attempt 2: connection reset; retrying in 2ms
	// err: <nil> calls: 3
}

func ExampleRetry_exhausted() {
	err := fault.Retry(context.Background(), func(context.Context) error {
		return errors.New("503")
	}, fault.MaxAttempts(2), fault.BaseDelay(time.Microsecond))
	var ex *fault.ExhaustedError
	fmt.Println(errors.Is(err, fault.ErrExhausted), errors.As(err, &ex), ex.Attempts)
	// Output:
	// true true 2
}

func ExampleWithDeadline() {
	stuck := make(chan struct{})
	defer close(stuck)
	err := fault.WithDeadline(context.Background(), 10*time.Millisecond, func(context.Context) error {
		<-stuck // ignores its context
		return nil
	})
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output:
	// true
}
