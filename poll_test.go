package vsm_test

import (
	"context"
	"testing"
	"time"
)

// poll calls cond every 10ms until it is true, failing after 15s.
func poll(t testing.TB, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met within 15s")
		case <-tick.C:
		}
	}
}
