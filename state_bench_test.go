package vsm_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/viable-systems/vsm-connections/internal/redistest"
	"os"
	"slices"
	"testing"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
)

// BenchmarkSharedBreakerPropagation measures the time from a shared
// breaker tripping on node A (a failed call) to it being open on node B,
// two nodes on one real redis-server (VSM_REDIS_ADDR, or one started
// here). Each round is reset on A and waited closed on B, untimed.
// p50/p99 are reported in µs.
func BenchmarkSharedBreakerPropagation(b *testing.B) {
	url := ""
	if addr := os.Getenv("VSM_REDIS_ADDR"); addr != "" {
		url = "redis://" + addr
	} else {
		url = redistest.Start(b).URL()
	}
	// A fresh cluster name, so that state left by an earlier run on a
	// shared server does not matter.
	cluster := fmt.Sprintf("bench%d", time.Now().UnixNano())
	mk := func(name string) *vsm.Node {
		cfg, err := config.Parse(name+".yaml", []byte(fmt.Sprintf(`node: {name: %s, cluster: %s}
redis: {url: "%s", timeout: 1s}
circuit_breakers:
  api: {failure_threshold: 1, recovery_timeout: 1h, coordination: shared}
`, name, cluster, url)))
		if err != nil {
			b.Fatal(err)
		}
		return startWith(b, cfg)
	}
	na, nb := mk("a"), mk("b")
	ba, _ := na.Breaker("api")
	bb, _ := nb.Breaker("api")
	opened := make(chan time.Time, 1)
	closed := make(chan struct{}, 1)
	cancel := bb.Subscribe(func(t breaker.Transition) {
		switch t.To {
		case breaker.Open:
			opened <- time.Now()
		case breaker.Closed:
			closed <- struct{}{}
		}
	})
	defer cancel()
	boom := errors.New("boom")
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		_ = ba.Call(ctx, func(context.Context) error { return boom })
		timer := time.NewTimer(5 * time.Second)
		select {
		case at := <-opened:
			lat = append(lat, at.Sub(start))
		case <-timer.C:
			b.Fatal("B did not open within 5s")
		}
		b.StopTimer()
		ba.Reset()
		timer.Reset(5 * time.Second)
		select {
		case <-closed:
		case <-timer.C:
			b.Fatal("B did not close within 5s")
		}
		timer.Stop()
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}
