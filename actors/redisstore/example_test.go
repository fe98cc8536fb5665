package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/state"
)

// With no Redis configured, Open serves the same API in-process.
func ExampleOpen() {
	ctx := context.Background()
	st, err := redisstore.Open(config.Redis{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	_ = st.Set(ctx, "greeting", "hello", state.Expire(time.Minute))
	var s string
	_ = st.Get(ctx, "greeting", &s)
	fmt.Println(s)
	// Output: hello
}

// Credentials never appear in String or in errors.
func ExampleNew() {
	st, err := redisstore.New(config.Redis{
		URL:     "redis://app:hunter2@127.0.0.1:6379/0",
		Timeout: config.Duration(500 * time.Millisecond),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	fmt.Println(st)

	_, err = redisstore.New(config.Redis{URL: "redis://app:hunter2@127.0.0.1:6379/notadb"})
	fmt.Println(err)
	fmt.Println(errors.Is(err, redisstore.ErrInvalidConfig))
	// Output:
	// redis(redis://app:xxxxx@127.0.0.1:6379/0)
	// redis: invalid configuration: url redis://app:xxxxx@127.0.0.1:6379/notadb: redis: invalid database number: "notadb"
	// true
}
