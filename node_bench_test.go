package vsm_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/config"
)

// BenchmarkNodeRequest is the node's per-request path over one loopback
// server: node.Request (routing by pool name, or by the absolute URL's
// host:port), node.Pool(name).Do, and the pool's client alone, so the cost
// of the facade and of S1's lookups shows as the difference. Compare
// allocs/op; timings need a quiet machine (see BENCHMARKS.md).
func BenchmarkNodeRequest(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("pong"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	host, port, _ := strings.Cut(addr, ":")
	cfg, err := config.Parse("bench.yaml", []byte(fmt.Sprintf(`
circuit_breakers:
  api: {failure_threshold: 5, recovery_timeout: 1h}
pools:
  api: {host: %s, port: %s, size: 16, circuit_breaker: api}
`, host, port)))
	if err != nil {
		b.Fatal(err)
	}
	n := startWith(b, cfg)
	ctx := context.Background()
	p, ok := n.Pool("api")
	if !ok {
		b.Fatal("no pool api")
	}
	for _, bc := range []struct {
		name string
		do   func() error
	}{
		{"client", func() error { _, err := p.Client().Do(ctx, httppool.Request{URL: "/ping"}); return err }},
		{"node-by-name", func() error { _, err := n.Request(ctx, httppool.Request{Pool: "api", URL: "/ping"}); return err }},
		{"node-by-url", func() error { _, err := n.Request(ctx, httppool.Request{URL: srv.URL + "/ping"}); return err }},
		{"node-pool-do", func() error {
			p, _ := n.Pool("api")
			_, err := p.Do(ctx, httppool.Request{URL: "/ping"})
			return err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.do(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
