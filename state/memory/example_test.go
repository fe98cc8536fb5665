package memory_test

import (
	"context"
	"fmt"

	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/memory"
)

func Example() {
	ctx := context.Background()
	st := memory.New()
	defer st.Close()

	type user struct {
		Name string `json:"name"`
	}
	_ = st.Set(ctx, "user:1", user{Name: "ann"})
	var u user
	_ = st.Get(ctx, "user:1", &u)
	fmt.Println(u.Name)

	n, _ := st.Incr(ctx, "visits")
	fmt.Println(n)

	got := make(chan string, 1)
	sub, _ := st.Subscribe(ctx, "alerts:*", func(m state.Message) { got <- m.Channel + " " + string(m.Payload) })
	defer sub.Close()
	_ = st.Publish(ctx, "alerts:critical", "disk full")
	fmt.Println(<-got)
	// Output:
	// ann
	// 1
	// alerts:critical "disk full"
}
