package httppool_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/vsmtest"
)

// A pool over one endpoint, guarded by a breaker, retrying a flaky reply.
func ExampleClient_Do() {
	svc, err := vsmtest.StartMockService()
	if err != nil {
		panic(err)
	}
	defer svc.Close()
	_ = svc.RespondJSON("GET /users/1", 200, map[string]string{"name": "ada"})
	svc.FailNext(1, 503) // the first try fails, the retry succeeds

	c, err := httppool.New(httppool.Config{
		Name:      "users",
		Endpoints: []string{svc.Addr()},
		Size:      4,
		Timeout:   2 * time.Second,
		Breaker:   breaker.New("users", breaker.Settings{FailureThreshold: 5}),
		Retry:     []fault.Option{fault.BaseDelay(time.Millisecond)},
	})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	resp, err := c.Do(context.Background(), httppool.Request{URL: "/users/1"})
	if err != nil {
		panic(err)
	}
	var user struct{ Name string }
	if err := resp.JSON(&user); err != nil {
		panic(err)
	}
	fmt.Println(resp.Status, user.Name, "after", resp.Attempts, "attempts")

	svc.Respond(500, "down", nil)
	_, err = c.Do(context.Background(), httppool.Request{URL: "/other", Retry: []fault.Option{fault.MaxAttempts(1)}})
	var se *httppool.StatusError
	fmt.Println(errors.As(err, &se), se.Response.Status, string(se.Response.Body))
	// Output:
	// 200 ada after 2 attempts
	// true 500 down
}
