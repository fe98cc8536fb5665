package balancer_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/viable-systems/vsm-connections/balancer"
)

func Example() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b, err := balancer.New([]string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}, balancer.Config{
		Policy:              balancer.RoundRobin,
		ConsecutiveFailures: 2,
		BaseEjectionTime:    30 * time.Second,
		Now:                 func() time.Time { return now },
		Listener: func(n balancer.Notification) {
			if n.Kind == balancer.Ejected {
				fmt.Printf("%s ejected for %v\n", n.Addr, n.For)
			} else {
				fmt.Printf("%s %s\n", n.Addr, n.Kind)
			}
		},
	})
	if err != nil {
		panic(err)
	}
	for range 6 {
		e, err := b.Pick()
		if err != nil {
			panic(err)
		}
		var outcome error
		if e.Addr == "10.0.0.2:80" {
			outcome = errors.New("connection refused")
		}
		e.Done(outcome) // the second failure ejects 10.0.0.2
	}
	for range 3 {
		e, _ := b.Pick()
		fmt.Println("picked", e.Addr)
		e.Done(nil)
	}
	now = now.Add(30 * time.Second)
	e, _ := b.Pick() // the ejection has ended: restored on the way
	fmt.Println("picked", e.Addr)
	e.Done(nil)
	// Output:
	// 10.0.0.2:80 ejected for 30s
	// picked 10.0.0.1:80
	// picked 10.0.0.3:80
	// picked 10.0.0.1:80
	// 10.0.0.2:80 restored
	// picked 10.0.0.1:80
}
