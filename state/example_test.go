package state_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/memory"
)

// A counter incremented with optimistic concurrency; the same code runs on
// the Redis backend.
func ExampleStore_Transaction() {
	ctx := context.Background()
	var st state.Store = memory.New()
	defer st.Close()

	for i := 0; i < 3; i++ {
		err := st.Transaction(ctx, []string{"hits"}, func(tx state.Tx) error {
			var n int
			if err := tx.Get(ctx, "hits", &n); err != nil && !errors.Is(err, state.ErrNotFound) {
				return err
			}
			return tx.Set("hits", n+1)
		})
		if err != nil {
			fmt.Println(err)
		}
	}
	var n int
	_ = st.Get(ctx, "hits", &n)
	fmt.Println(n)

	var missing int
	err := st.Get(ctx, "nope", &missing)
	fmt.Println(errors.Is(err, state.ErrNotFound))
	// Output:
	// 3
	// true
}

func ExampleStore_Pipeline() {
	ctx := context.Background()
	st := memory.New()
	defer st.Close()
	res, _ := st.Pipeline(ctx,
		state.Command("SET", "k", "v"),
		state.Command("INCR", "k"),
		state.Command("GET", "k"),
	)
	for _, r := range res {
		fmt.Println(r.Val, r.Err != nil)
	}
	// Output:
	// OK false
	// <nil> true
	// v false
}
