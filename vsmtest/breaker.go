package vsmtest

import (
	"context"
	"errors"

	"github.com/viable-systems/vsm-connections/breaker"
)

// ErrSimulatedFailure is the error the simulated calls return.
var ErrSimulatedFailure = errors.New("vsmtest: simulated failure")

// SimulateFailures makes n calls through b that fail with
// ErrSimulatedFailure (the seed's simulate_failures), so a test can drive a
// breaker open without a failing service. It stops at the first call b
// rejects (it has opened, or its half-open probes are taken) or when ctx
// ends, and returns how many failed calls b admitted. Whether they count
// as failures is b's Settings.IsFailure decision, as for real calls.
func SimulateFailures(ctx context.Context, b *breaker.Breaker, n int) int {
	return simulate(ctx, b, n, ErrSimulatedFailure)
}

// SimulateSuccesses makes n successful calls through b (to close a
// half-open breaker, or reset a consecutive failure count) and returns how
// many b admitted before rejecting one.
func SimulateSuccesses(ctx context.Context, b *breaker.Breaker, n int) int {
	return simulate(ctx, b, n, nil)
}

func simulate(ctx context.Context, b *breaker.Breaker, n int, outcome error) int {
	admitted := 0
	for range n {
		if ctx.Err() != nil {
			break
		}
		var ran bool
		_ = b.Call(ctx, func(context.Context) error {
			ran = true
			return outcome
		})
		if !ran {
			break // rejected
		}
		admitted++
	}
	return admitted
}
