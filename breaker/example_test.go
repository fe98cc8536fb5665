package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/viable-systems/vsm-connections/breaker"
)

func Example() {
	b := breaker.New("api", breaker.Settings{
		FailureThreshold: 2,
		RecoveryTimeout:  time.Minute,
		OnTransition: func(t breaker.Transition) {
			fmt.Printf("%s: %s -> %s (%s)\n", t.Name, t.From, t.To, t.Reason)
		},
	})
	down := errors.New("connection refused")
	ctx := context.Background()
	for range 3 {
		err := b.Call(ctx, func(context.Context) error { return down })
		fmt.Println(err, errors.Is(err, breaker.ErrOpen))
	}
	st := b.Stats()
	fmt.Println(st.State, st.Failures, st.Rejections)
	// Output:
	// connection refused false
	// api: closed -> open (failure_threshold)
	// connection refused false
	// breaker api: open true
	// open 2 1
}

// An adapter that times the call itself uses Allow and Token.Done.
func ExampleBreaker_Allow() {
	b := breaker.New("db", breaker.Settings{})
	ctx := context.Background()
	tok, err := b.Allow()
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	var queryErr error // ... run the query ...
	tok.Done(ctx, queryErr)
	fmt.Println(b.Stats().Successes)
	// Output:
	// 1
}

func ExampleDo() {
	b := breaker.New("price", breaker.Settings{})
	price, err := breaker.Do(context.Background(), b, func(context.Context) (float64, error) {
		return 9.99, nil
	})
	fmt.Println(price, err)
	// Output:
	// 9.99 <nil>
}
