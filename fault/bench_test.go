package fault_test

import (
	"context"
	"testing"

	"github.com/viable-systems/vsm-connections/fault"
)

// Retry's overhead over a bare call when the call succeeds.
//
//	go test -run '^$' -bench BenchmarkRetry -count=10 ./fault/

func BenchmarkRetry(b *testing.B) {
	ctx := context.Background()
	fn := func(context.Context) error { return nil }
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := fn(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("retry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := fault.Retry(ctx, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
	opts := []fault.Option{fault.MaxAttempts(5), fault.WithJitter(fault.EqualJitter)}
	b.Run("retry-options", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := fault.Retry(ctx, fn, opts...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("do", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fault.Do(ctx, func(context.Context) (int, error) { return 1, nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
