package redisstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/internal/redistest"

	goredis "github.com/redis/go-redis/v9"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/state"
)

// Each benchmark measures bare go-redis and this package side by side on the
// same server, in the same run (see BENCHMARKING.md); BenchmarkRedisGet and
// BenchmarkRedisSet also measure go-redis's own AutoPipeliner
// (autopipeline-bare), since this package auto-pipelines concurrent Get and
// Set. Run with -count=10 and
// compare with benchstat. The server is VSM_REDIS_ADDR, or one the benchmark
// starts itself.

type benchDoc struct {
	ID   int      `json:"id"`
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

var doc = benchDoc{ID: 42, Name: "connection-pool-7", Tags: []string{"s1", "http", "eu-west"}}

// parallelism × GOMAXPROCS callers in the parallel variants (64 on 2 CPUs).
const parallelism = 32

func benchAddr(b *testing.B) string {
	if addr := os.Getenv("VSM_REDIS_ADDR"); addr != "" {
		return addr
	}
	return redistest.Start(b).Addr()
}

func benchClients(b *testing.B) (*goredis.Client, *redisstore.Store) {
	addr := benchAddr(b)
	bare := goredis.NewClient(&goredis.Options{Addr: addr})
	b.Cleanup(func() { _ = bare.Close() })
	return bare, newStore(b, config.Redis{URL: "redis://" + addr})
}

// autoPipeliner is go-redis's own auto-pipeliner on bare (its blocking,
// drop-in face), the peer that shows what auto-pipelining alone gives.
func autoPipeliner(b *testing.B, bare *goredis.Client) *goredis.AutoPipeliner {
	ap, err := bare.AutoPipeline()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ap.Close() })
	return ap
}

func BenchmarkRedisGet(b *testing.B) {
	bare, vsm := benchClients(b)
	ctx := context.Background()
	const key = "bench:get"
	if err := vsm.Set(ctx, key, doc); err != nil {
		b.Fatal(err)
	}
	bareGet := func() error {
		data, err := bare.Get(ctx, key).Bytes()
		if err != nil {
			return err
		}
		var d benchDoc
		return json.Unmarshal(data, &d)
	}
	ap := autoPipeliner(b, bare)
	apGet := func() error {
		data, err := ap.Get(ctx, key).Bytes()
		if err != nil {
			return err
		}
		var d benchDoc
		return json.Unmarshal(data, &d)
	}
	vsmGet := func() error {
		var d benchDoc
		return vsm.Get(ctx, key, &d)
	}
	runPeers(b, map[string]func() error{"bare": bareGet, "autopipeline-bare": apGet, "vsm": vsmGet})
}

func BenchmarkRedisSet(b *testing.B) {
	bare, vsm := benchClients(b)
	ctx := context.Background()
	const key = "bench:set"
	bareSet := func() error {
		data, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		return bare.Set(ctx, key, data, 0).Err()
	}
	ap := autoPipeliner(b, bare)
	apSet := func() error {
		data, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		return ap.Set(ctx, key, data, 0).Err()
	}
	vsmSet := func() error { return vsm.Set(ctx, key, doc) }
	runPeers(b, map[string]func() error{"bare": bareSet, "autopipeline-bare": apSet, "vsm": vsmSet})
}

func runPeers(b *testing.B, peers map[string]func() error) {
	for _, name := range []string{"bare", "autopipeline-bare", "vsm"} {
		op := peers[name]
		b.Run(name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(parallelism)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := op(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRedisPipeline: one op is a batch of 100 SETs in one round trip.
func BenchmarkRedisPipeline(b *testing.B) {
	bare, vsm := benchClients(b)
	ctx := context.Background()
	const batch = 100
	keys := make([]string, batch)
	for i := range keys {
		keys[i] = "bench:pipe:" + strconv.Itoa(i)
	}
	value, _ := json.Marshal(doc)
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pipe := bare.Pipeline()
			for _, k := range keys {
				pipe.Set(ctx, k, value, 0)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "sets/s")
	})
	b.Run("vsm", func(b *testing.B) {
		b.ReportAllocs()
		cmds := make([]state.Cmd, batch)
		for b.Loop() {
			for i, k := range keys {
				cmds[i] = state.Command("SET", k, value)
			}
			res, err := vsm.Pipeline(ctx, cmds...)
			if err != nil {
				b.Fatal(err)
			}
			if res[batch-1].Err != nil {
				b.Fatal(res[batch-1].Err)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "sets/s")
	})
}

// BenchmarkPubSubLatency: one op publishes a message and waits until the
// subscriber has it; the latency is from just before Publish to the message
// reaching the consumer (go-redis's channel for bare, the handler for vsm).
func BenchmarkPubSubLatency(b *testing.B) {
	bare, vsm := benchClients(b)
	ctx := context.Background()
	b.Run("bare", func(b *testing.B) {
		ch := fmt.Sprintf("bench:ps:bare:%d", b.N)
		ps := bare.Subscribe(ctx, ch)
		defer ps.Close()
		if _, err := ps.Receive(ctx); err != nil {
			b.Fatal(err)
		}
		msgs := ps.Channel()
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			start := time.Now()
			if err := bare.Publish(ctx, ch, "x").Err(); err != nil {
				b.Fatal(err)
			}
			<-msgs
			lat = append(lat, time.Since(start))
		}
		reportLatency(b, lat)
	})
	b.Run("vsm", func(b *testing.B) {
		ch := fmt.Sprintf("bench:ps:vsm:%d", b.N)
		got := make(chan time.Time, 1)
		sub, err := vsm.Subscribe(ctx, ch, func(state.Message) { got <- time.Now() })
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Close()
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			start := time.Now()
			if err := vsm.Publish(ctx, ch, []byte("x")); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, (<-got).Sub(start))
		}
		reportLatency(b, lat)
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
