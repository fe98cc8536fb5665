package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HealthSource hands out a sample of every health check to export; System
// 4 implements it from its registry's snapshots, so that telemetry
// imports no actor package.
type HealthSource interface {
	HealthSamples() []HealthSample
}

// HealthSample is one health check's figures at scrape time.
type HealthSample struct {
	Name string
	Kind string
	// Status is 0 unknown, 1 healthy, 2 unhealthy.
	Status    int
	Successes uint64
	Failures  uint64
	// Bounds are the latency buckets' upper bounds, ascending; Counts has
	// len(Bounds)+1 entries, not cumulative (the last one is above every
	// bound), as in health.Histogram.
	Bounds []time.Duration
	Counts []uint64
	Count  uint64
	Sum    time.Duration
}

// NewHealthCollector exports every health check's figures at scrape time,
// so the probes pay nothing for Prometheus:
//
//	vsm_health_status{check,kind}                  0 unknown, 1 healthy, 2 unhealthy
//	vsm_health_checks_total{check,result}          success, failure
//	vsm_health_check_duration_seconds{check}       probe latency
func NewHealthCollector(src HealthSource) prometheus.Collector { return healthCollector{src} }

type healthCollector struct{ src HealthSource }

var (
	healthStatusDesc = prometheus.NewDesc("vsm_health_status",
		"Health check status: 0 unknown, 1 healthy, 2 unhealthy.", []string{"check", "kind"}, nil)
	healthResultsDesc = prometheus.NewDesc("vsm_health_checks_total",
		"Health check probes, by result.", []string{"check", "result"}, nil)
	healthLatencyDesc = prometheus.NewDesc("vsm_health_check_duration_seconds",
		"Health check probe latency.", []string{"check"}, nil)
)

func (healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- healthStatusDesc
	ch <- healthResultsDesc
	ch <- healthLatencyDesc
}

func (c healthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.src.HealthSamples() {
		ch <- prometheus.MustNewConstMetric(healthStatusDesc, prometheus.GaugeValue, float64(s.Status), s.Name, s.Kind)
		ch <- prometheus.MustNewConstMetric(healthResultsDesc, prometheus.CounterValue, float64(s.Successes), s.Name, "success")
		ch <- prometheus.MustNewConstMetric(healthResultsDesc, prometheus.CounterValue, float64(s.Failures), s.Name, "failure")
		// Prometheus buckets are cumulative; ours are not.
		buckets := make(map[float64]uint64, len(s.Bounds))
		var cum uint64
		for i, le := range s.Bounds {
			if i < len(s.Counts) {
				cum += s.Counts[i]
			}
			buckets[le.Seconds()] = cum
		}
		ch <- prometheus.MustNewConstHistogram(healthLatencyDesc, s.Count, s.Sum.Seconds(), buckets, s.Name)
	}
}
