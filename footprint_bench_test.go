package vsm_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/config"
)

// footprintYAML is a config with breakers circuit breakers (b00000...)
// and pools HTTP pools (p0000...) against addr, pool i guarded by breaker
// i when there are enough breakers.
func footprintYAML(breakers, pools int, addr string) []byte {
	host, port, _ := strings.Cut(addr, ":")
	var b bytes.Buffer
	b.WriteString("circuit_breakers:\n")
	if breakers == 0 {
		b.WriteString("  {}\n")
	}
	for i := range breakers {
		fmt.Fprintf(&b, "  b%05d: {failure_threshold: 5, recovery_timeout: 30s}\n", i)
	}
	b.WriteString("pools:\n")
	if pools == 0 {
		b.WriteString("  {}\n")
	}
	for i := range pools {
		fmt.Fprintf(&b, "  p%04d: {host: %s, port: %s, size: 4", i, host, port)
		if i < breakers {
			fmt.Fprintf(&b, ", circuit_breaker: b%05d", i)
		}
		b.WriteString("}\n")
	}
	return b.Bytes()
}

func writeHeapProfile(b *testing.B, path string) {
	fh, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	if err := pprof.Lookup("heap").WriteTo(fh, 0); err != nil {
		b.Fatal(err)
	}
}

// liveBytes is what the process holds after a full collection: the live
// heap and the goroutine stacks.
func liveBytes() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// vmRSS is the resident set size from /proc/self/status, after the heap
// has been returned to the OS as far as the runtime can; 0 where there is
// no /proc.
func vmRSS() uint64 {
	debug.FreeOSMemory()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkNodeFootprint starts a node with many configured units (issue
// 12, goal 6: 10,000 breakers and 1,000 HTTP pools against a loopback
// server, no Redis) and reports, per start:
//
//	start-ms   config parsed and vsm.Start returned
//	serve-ms   the first request through the last pool succeeded
//	stop-ms    Node.Stop took (every unit stopped, in reverse order)
//	live-MB    live heap + goroutine stacks after a GC, node running
//	rss-MB     VmRSS of the benchmark process (includes the test binary and
//	           what earlier sub-benchmarks left; scripts/footprint.sh
//	           measures a real vsmnode)
//	B/unit     live bytes above an empty node, per unit (breaker or pool)
//	goroutines/unit
//
// VSM_FOOTPRINT_SETTLE=5s measures 5 s after the first request, and
// VSM_FOOTPRINT_HEAP_PROFILE=file writes a heap profile of the running
// node then.
//
// The sub-benchmarks with breakers only and pools only give the cost of
// each kind of unit alone. Figures are per start, averaged over b.N.
func BenchmarkNodeFootprint(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("pong"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	// The empty node is the base the per-unit figures are measured from.
	base := measureNode(b, 0, 0, addr)
	for _, bc := range []struct{ breakers, pools int }{
		{10000, 0}, {0, 1000}, {10000, 1000},
	} {
		b.Run(fmt.Sprintf("breakers=%d/pools=%d", bc.breakers, bc.pools), func(b *testing.B) {
			var sum footprint
			for range b.N {
				sum.add(measureNode(b, bc.breakers, bc.pools, addr))
			}
			f := sum.div(b.N)
			units := float64(bc.breakers + bc.pools)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(f.start.Seconds()*1e3, "start-ms")
			b.ReportMetric(f.serve.Seconds()*1e3, "serve-ms")
			b.ReportMetric(f.stop.Seconds()*1e3, "stop-ms")
			b.ReportMetric(float64(f.live)/(1<<20), "live-MB")
			b.ReportMetric(float64(f.rss)/(1<<20), "rss-MB")
			b.ReportMetric((float64(f.live)-float64(base.live))/units, "B/unit")
			b.ReportMetric(float64(f.goroutines-base.goroutines)/units, "goroutines/unit")
		})
	}
}

type footprint struct {
	start, serve, stop time.Duration
	live, rss          uint64
	goroutines         int
}

func (f *footprint) add(g footprint) {
	f.start += g.start
	f.serve += g.serve
	f.stop += g.stop
	f.live += g.live
	f.rss += g.rss
	f.goroutines += g.goroutines
}

func (f footprint) div(n int) footprint {
	return footprint{
		start: f.start / time.Duration(n), serve: f.serve / time.Duration(n), stop: f.stop / time.Duration(n),
		live: f.live / uint64(n), rss: f.rss / uint64(n), goroutines: f.goroutines / n,
	}
}

// measureNode starts a node with that many units (footprintYAML), sends
// one request through the last pool, measures, and stops the node. The
// YAML is made here, so that only what the node keeps of it is live.
func measureNode(b *testing.B, breakers, pools int, addr string) footprint {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if os.Getenv("VSM_FOOTPRINT_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 512 // 1,000 pools make a few MB: sample finely
	}
	y := footprintYAML(breakers, pools, addr)
	pool := ""
	if pools > 0 {
		pool = fmt.Sprintf("p%04d", pools-1)
	}
	t0 := time.Now()
	cfg, err := config.Parse("footprint.yaml", y)
	if err != nil {
		b.Fatal(err)
	}
	n, err := vsm.Start(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	var f footprint
	f.start = time.Since(t0)
	if pool != "" {
		if _, err := n.Request(ctx, httppool.Request{Pool: pool, URL: "/ping"}); err != nil {
			b.Fatal(err)
		}
	}
	f.serve = time.Since(t0)
	if d, err := time.ParseDuration(os.Getenv("VSM_FOOTPRINT_SETTLE")); err == nil {
		// Measure an idle node, not one just started: what the units do
		// once running (timers, audits) shows then.
		time.Sleep(d)
	}
	f.live, f.rss, f.goroutines = liveBytes(), vmRSS(), runtime.NumGoroutine()
	if path := os.Getenv("VSM_FOOTPRINT_HEAP_PROFILE"); path != "" {
		// The profile of the running node (go test's -memprofile is taken
		// after it stopped).
		writeHeapProfile(b, path)
	}
	t1 := time.Now()
	if err := n.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	f.stop = time.Since(t1)
	return f
}
