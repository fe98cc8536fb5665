package coord_test

import (
	"testing"

	"go.uber.org/goleak"
)

// go-redis's cluster client refreshes its slot map on a goroutine that
// waits 200ms after each reload (and its pool probes a refused address
// from one that sleeps a second): both outlive Close briefly, by design.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9.(*clusterStateHolder).LazyReload.func1"),
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}
