package s3

import (
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/pool"
)

func TestAutoscaleDecide(t *testing.T) {
	a := Autoscale{Pool: "api", Min: 2, Max: 10, TargetWait: 10 * time.Millisecond, High: 0.8, Low: 0.3}
	wait := func(count uint64, sum time.Duration) pool.Histogram { return pool.Histogram{Count: count, Sum: sum} }
	base := pool.Stats{Size: 4, Wait: wait(100, 100*time.Millisecond), Timeouts: 1}
	tests := []struct {
		name   string
		cur    pool.Stats
		want   int
		reason string
	}{
		{"waiting", pool.Stats{Size: 4, InUse: 4, Waiting: 3, Wait: base.Wait, Timeouts: 1}, 6, "3 callers waiting for a slot"},
		{"timeouts", pool.Stats{Size: 4, InUse: 1, Wait: base.Wait, Timeouts: 3}, 6, "2 checkouts timed out"},
		{"slow checkouts", pool.Stats{Size: 4, InUse: 1, Wait: wait(110, 300*time.Millisecond), Timeouts: 1}, 6, "mean checkout wait 20ms >= 10ms"},
		{"busy", pool.Stats{Size: 4, InUse: 4, Wait: wait(110, 110*time.Millisecond), Timeouts: 1}, 6, "utilisation 100% (4/4 in use) >= 80%"},
		{"busy at max", pool.Stats{Size: 10, InUse: 10, Wait: base.Wait, Timeouts: 1}, 10, ""},
		{"growth capped", pool.Stats{Size: 8, InUse: 8, Wait: base.Wait, Timeouts: 1}, 10, "utilisation 100% (8/8 in use) >= 80%"},
		{"idle", pool.Stats{Size: 8, InUse: 2, Wait: wait(120, 120*time.Millisecond), Timeouts: 1}, 6, "utilisation 25% (2/8 in use) <= 30% and nobody waited"},
		{"idle at min", pool.Stats{Size: 2, Wait: base.Wait, Timeouts: 1}, 2, ""},
		{"steady", pool.Stats{Size: 4, InUse: 2, Wait: wait(150, 150*time.Millisecond), Timeouts: 1}, 4, ""},
		{"below min", pool.Stats{Size: 1, InUse: 1, Wait: base.Wait}, 2, "size 1 is below min 2"},
		{"above max", pool.Stats{Size: 12, Wait: base.Wait}, 10, "size 12 is above max 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := a.decide(base, tt.cur)
			if got != tt.want || reason != tt.reason {
				t.Fatalf("decide = %d %q, want %d %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}
