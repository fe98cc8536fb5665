package vsm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
)

// Start a node with a circuit breaker from YAML, call through the breaker
// from plain Go code, and watch it open on the event stream.
func ExampleStart() {
	ctx := context.Background()
	cfg, err := config.Parse("example.yaml", []byte(`
node:
  name: example
circuit_breakers:
  api:
    failure_threshold: 2
    recovery_timeout: 1m
`))
	if err != nil {
		panic(err)
	}
	node, err := vsm.Start(ctx, cfg)
	if err != nil {
		panic(err)
	}
	defer node.Stop(ctx)

	var systems []string
	for _, system := range node.Tree().Children {
		systems = append(systems, system.Name)
	}
	fmt.Println(strings.Join(systems, " "))

	opened := make(chan *event.BreakerStateChanged, 1)
	cancel := node.Subscribe(func(ev vsm.Event) {
		if e, ok := ev.(*event.BreakerStateChanged); ok && e.To == "open" {
			opened <- e
		}
	})
	defer cancel()

	api, _ := node.Breaker("api")
	down := errors.New("connection refused")
	for range 3 {
		err := api.Call(ctx, func(context.Context) error { return down })
		fmt.Println(err, errors.Is(err, breaker.ErrOpen))
	}
	e := <-opened
	fmt.Println(e.Name, e.From, "->", e.To)
	fmt.Println(node.Raise(algedonic.Warning, "example", "done") == nil)
	// Output:
	// s5 s4 s3 s2 s1 user
	// connection refused false
	// connection refused false
	// breaker api: open true
	// s1/breaker/api closed -> open
	// true
}
