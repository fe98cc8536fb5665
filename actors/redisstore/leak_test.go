package redisstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// go-redis's pool, after pool_size failed dials, probes the address from a
// goroutine that sleeps a second between probes and notices Close only when
// it wakes: it outlives Close by up to a second, by design, not a leak.
// Likewise the cluster client's slot map refresh waits 200ms after each
// reload on a goroutine of its own.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9.(*clusterStateHolder).LazyReload.func1"),
		goleak.IgnoreTopFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"),
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}
