package telemetry_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/viable-systems/vsm-connections/telemetry"
)

type checks []telemetry.HealthSample

func (c checks) HealthSamples() []telemetry.HealthSample { return c }

// The health collector exports status, result counters and a cumulative
// latency histogram from the samples.
func TestHealthCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(telemetry.NewHealthCollector(checks{{
		Name: "db", Kind: "tcp", Status: 2, Successes: 4, Failures: 3,
		Bounds: []time.Duration{time.Millisecond, 10 * time.Millisecond},
		Counts: []uint64{2, 4, 1}, Count: 7, Sum: 35 * time.Millisecond,
	}}))
	got := gathered(t, reg)
	want := map[string]float64{
		"vsm_health_status{check=db,kind=tcp}":             2,
		"vsm_health_checks_total{check=db,result=success}": 4,
		"vsm_health_checks_total{check=db,result=failure}": 3,
		"vsm_health_check_duration_seconds{check=db}":      7,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "vsm_health_check_duration_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		var cum []uint64
		for _, b := range h.GetBucket() {
			cum = append(cum, b.GetCumulativeCount())
		}
		if len(cum) != 2 || cum[0] != 2 || cum[1] != 6 || h.GetSampleSum() != 0.035 {
			t.Errorf("buckets %v sum %v, want [2 6] 0.035", cum, h.GetSampleSum())
		}
	}
}
