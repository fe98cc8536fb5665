package grpcpool

import (
	"context"
	"runtime"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
	"github.com/viable-systems/vsm-connections/breaker"
)

// BenchmarkGRPCUnary compares a unary call through a bare grpc-go
// ClientConn with one through a Channel (breaker, retry policy, default
// deadline, stats, conn accounting) on the same server, at 1 and 64
// concurrent callers. The server advertises no stream limit, so the
// channel keeps one ClientConn and no actor is needed. The channel's
// default deadline is kept on the client, off the wire; bare-deadline is
// the bare ClientConn with a 5 s deadline per call on the wire, what any
// caller with a timeout of its own pays (a timer on both sides).
func BenchmarkGRPCUnary(b *testing.B) {
	ts := (&testServer{}).start(b, "")
	for _, kind := range []string{"bare", "bare-deadline", "vsm"} {
		b.Run(kind, func(b *testing.B) {
			var cc grpc.ClientConnInterface
			switch kind {
			case "bare", "bare-deadline":
				c, err := grpc.NewClient("passthrough:///"+ts.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = c.Close() })
				cc = c
			case "vsm":
				ch := newChannel(b, Config{Name: "bench", Endpoints: []string{ts.addr}, Breaker: breaker.New("bench", breaker.Settings{})})
				cc = ch
			}
			client := testpb.NewTestClient(cc)
			req := &testpb.Request{Text: "bench"}
			call := func() error {
				ctx := context.Background()
				if kind == "bare-deadline" {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
					defer cancel()
				}
				_, err := client.Unary(ctx, req)
				return err
			}
			if err := call(); err != nil {
				b.Fatal(err)
			}
			for _, c := range []int{1, 64} {
				b.Run(map[int]string{1: "c=1", 64: "c=64"}[c], func(b *testing.B) {
					b.ReportAllocs()
					if c == 1 {
						for b.Loop() {
							if err := call(); err != nil {
								b.Fatal(err)
							}
						}
						return
					}
					// SetParallelism multiplies GOMAXPROCS; 64 goroutines
					// are what c=64 means.
					b.SetParallelism(max(1, c/runtimeProcs()))
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := call(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
		})
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
