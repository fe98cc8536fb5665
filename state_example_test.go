package vsm_test

import (
	"context"
	"fmt"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/state"
)

// With no redis configured the node serves state, sessions and pub/sub
// in-process; with redis.url set the same calls go to Redis.
func ExampleNode_State() {
	ctx := context.Background()
	n, err := vsm.Start(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n.Stop(ctx)

	st := n.State()
	_ = st.Set(ctx, "greeting", "hello", state.Expire(time.Minute))
	var s string
	_ = st.Get(ctx, "greeting", &s)
	fmt.Println(s, "from", n.StateBackend())

	got := make(chan string, 1)
	sub, _ := st.Subscribe(ctx, "news.*", func(m state.Message) {
		var v string
		_ = m.Decode(&v)
		got <- m.Channel + ": " + v
	})
	defer sub.Close()
	_ = st.Publish(ctx, "news.local", "breaker api opened")
	fmt.Println(<-got)

	sess, _ := n.Sessions().Create(ctx, map[string]string{"user": "ada"})
	back, _ := n.Sessions().Get(ctx, sess.ID)
	var data map[string]string
	_ = back.Decode(&data)
	fmt.Println("session user:", data["user"])
	// Output:
	// hello from in-process
	// news.local: breaker api opened
	// session user: ada
}
