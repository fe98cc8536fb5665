package breaker

import (
	"context"
	"testing"
	"time"
)

// The per-call path does not allocate: closed, open and half-open
// rejections, with and without telemetry, in both modes. (A transition
// allocates its new phase.)
func TestHotPathDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	ctx := context.Background()
	for _, s := range []Settings{
		{},
		{DisableTelemetry: true},
		{Mode: Rate},
		{Mode: Rate, WindowType: TimeWindow},
		{SlowCallThreshold: time.Second},
	} {
		b := New("alloc", s)
		check := func(what string, f func()) {
			t.Helper()
			if n := testing.AllocsPerRun(200, f); n != 0 {
				t.Errorf("%+v %s: %v allocs per call", s, what, n)
			}
		}
		check("Call", func() { b.Call(ctx, ok) })
		check("Do", func() { Do(ctx, b, func(context.Context) (int, error) { return 1, nil }) })
		check("Allow/Done", func() {
			tok, err := b.Allow()
			if err == nil {
				tok.Done(ctx, nil)
			}
		})
		check("State", func() { b.State() })
		b.Open()
		check("rejection", func() { b.Call(ctx, ok) })
	}
	clk := newFakeClock()
	b := New("alloc", Settings{FailureThreshold: 1, RecoveryTimeout: time.Second, Clock: clk})
	b.Call(ctx, fail)
	clk.Advance(time.Second)
	probe, err := b.Allow()
	if err != nil || b.State() != HalfOpen {
		t.Fatal(err, b.State())
	}
	if n := testing.AllocsPerRun(200, func() { b.Call(ctx, ok) }); n != 0 {
		t.Errorf("half-open rejection: %v allocs", n)
	}
	probe.Done(ctx, nil)
}
