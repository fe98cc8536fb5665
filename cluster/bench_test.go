package cluster_test

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkRemoteRequest compares one request/reply, made by member a's
// code, in three ways (see runBench in internal/clustertest/member):
//
//   - local: a's own breaker actor, asked for its stats with Go messages;
//   - remote: c's breaker actor, the same question through cluster.Node
//     (proto messages, our error mapping, over protoactor's remote);
//   - bare-remote: a bare protoactor RequestFuture of a StringValue to c's
//     echo actor, over the same remote connection, no code of this module.
//
// The members are processes built without -race (protoactor's remote and
// cluster code race, and two remotes cannot share a process): the
// requests are made and timed inside a, b.N of them in a row, so ns/op is
// one sequential round trip. member-ns/op leaves out the command's pipe
// round trip to a; at the default benchtime the two agree.
func BenchmarkRemoteRequest(b *testing.B) {
	procs := formed(b, []string{"a", "c"}, nil)
	a := procs[0]
	// Open the remote connection before timing anything.
	for _, mode := range []string{"remote", "bare-remote"} {
		if l := a.do("bench "+mode+" c 10", "benched"); l.Err != "" {
			b.Fatalf("warm-up %s: %s", mode, l.Err)
		}
	}
	for _, mode := range []string{"local", "remote", "bare-remote"} {
		b.Run(mode, func(b *testing.B) {
			// Failures are reported on the sub-benchmark.
			defer func(t testing.TB) { a.t = t }(a.t)
			a.t = b
			b.ResetTimer()
			l := a.doWithin(5*time.Minute, fmt.Sprintf("bench %s c %d", mode, b.N), "benched")
			b.StopTimer()
			if l.Err != "" || l.Kind != mode || l.N != uint64(b.N) {
				b.Fatalf("%+v", l)
			}
			b.ReportMetric(float64(l.Took)/float64(b.N), "member-ns/op")
		})
	}
}
