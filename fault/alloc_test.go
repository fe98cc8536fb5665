package fault

import (
	"context"
	"testing"
)

func TestFirstTrySuccessDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	fn := func(context.Context) error { return nil }
	opts := []Option{MaxAttempts(5), WithJitter(EqualJitter)}
	if n := testing.AllocsPerRun(200, func() { Retry(ctx, fn) }); n != 0 {
		t.Fatalf("Retry: %v allocs", n)
	}
	if n := testing.AllocsPerRun(200, func() { Retry(ctx, fn, opts...) }); n != 0 {
		t.Fatalf("Retry with options: %v allocs", n)
	}
}
