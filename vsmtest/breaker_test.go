package vsmtest

import (
	"context"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/breaker"
)

// manualClock satisfies breaker.Clock with a time the test moves.
type manualClock struct{ t time.Time }

func (c *manualClock) Now() time.Time { return c.t }

func TestSimulateFailuresOpensBreaker(t *testing.T) {
	clk := &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var states []breaker.State
	b := breaker.New("svc", breaker.Settings{
		FailureThreshold: 3,
		RecoveryTimeout:  time.Second,
		Clock:            clk,
		OnTransition:     func(tr breaker.Transition) { states = append(states, tr.To) },
	})
	ctx := context.Background()
	if n := SimulateFailures(ctx, b, 2); n != 2 || b.State() != breaker.Closed {
		t.Fatalf("admitted %d, state %v", n, b.State())
	}
	if n := SimulateSuccesses(ctx, b, 1); n != 1 {
		t.Fatalf("admitted %d", n)
	}
	// The success reset the count: three more failures are needed, and
	// the fourth call is rejected.
	if n := SimulateFailures(ctx, b, 5); n != 3 || b.State() != breaker.Open {
		t.Fatalf("admitted %d, state %v", n, b.State())
	}
	clk.t = clk.t.Add(time.Second)
	if n := SimulateSuccesses(ctx, b, 3); n != 3 || b.State() != breaker.Closed {
		t.Fatalf("admitted %d, state %v", n, b.State())
	}
	want := []breaker.State{breaker.Open, breaker.HalfOpen, breaker.Closed}
	if len(states) != len(want) {
		t.Fatalf("transitions %v, want %v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("transitions %v, want %v", states, want)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if n := SimulateFailures(cctx, b, 3); n != 0 {
		t.Fatalf("admitted %d with a done context", n)
	}
}
