package breaker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/viable-systems/vsm-connections/breaker"
)

// The peers side by side: this breaker (with and without telemetry) and
// sony/gobreaker v2, each guarding a trivial function.
//
//	go test -run '^$' -bench 'BenchmarkBreaker' -count=10 ./breaker/ | tee new.txt
//	benchstat -col /impl new.txt

func trivial(context.Context) error { return nil }

func trivialGo() (struct{}, error) { return struct{}{}, nil }

func BenchmarkBreakerCall(b *testing.B) {
	ctx := context.Background()
	vsm := func(telemetry bool) func(*testing.B) {
		return func(b *testing.B) {
			cb := breaker.New("bench", breaker.Settings{DisableTelemetry: !telemetry})
			b.Run("serial", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := cb.Call(ctx, trivial); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := cb.Call(ctx, trivial); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
	b.Run("vsm", vsm(true))
	b.Run("vsm-notelemetry", vsm(false))
	b.Run("gobreaker", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Name: "bench"})
		b.Run("serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cb.Execute(trivialGo); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := cb.Execute(trivialGo); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	})
}

func BenchmarkBreakerOpen(b *testing.B) {
	ctx := context.Background()
	b.Run("vsm", func(b *testing.B) {
		cb := breaker.New("bench", breaker.Settings{RecoveryTimeout: time.Hour, FailureThreshold: 1})
		cb.Call(ctx, func(context.Context) error { return errors.New("down") })
		b.ReportAllocs()
		for b.Loop() {
			if err := cb.Call(ctx, trivial); err == nil {
				b.Fatal("not open")
			}
		}
	})
	b.Run("gobreaker", func(b *testing.B) {
		cb := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
			Name:        "bench",
			Timeout:     time.Hour,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
		})
		cb.Execute(func() (struct{}, error) { return struct{}{}, errors.New("down") })
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cb.Execute(trivialGo); err == nil {
				b.Fatal("not open")
			}
		}
	})
}
