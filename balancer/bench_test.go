package balancer

import (
	"fmt"
	"testing"
)

// BenchmarkBalancerPick measures one Pick and its Done(nil) over 3
// endpoints, nothing ejected.
func BenchmarkBalancerPick(b *testing.B) {
	addrs := []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}
	for _, pol := range []struct {
		name string
		p    Policy
	}{{"rr", RoundRobin}, {"p2c", P2C}} {
		bal, err := New(addrs, Config{Policy: pol.p})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/serial", pol.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e, err := bal.Pick()
				if err != nil {
					b.Fatal(err)
				}
				e.Done(nil)
			}
		})
		b.Run(fmt.Sprintf("%s/parallel", pol.name), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e, err := bal.Pick()
					if err != nil {
						b.Error(err)
						return
					}
					e.Done(nil)
				}
			})
		})
	}
}
