package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/viable-systems/vsm-connections/balancer"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/pool"
)

// BreakerSource hands out the breakers to export; System 1 implements it.
type BreakerSource interface {
	Breakers() []*breaker.Breaker
}

// PoolSource hands out a sample of every pool to export; System 1
// implements it. Telemetry reads through it so that it imports no actor or
// adapter package.
type PoolSource interface {
	PoolSamples() []PoolSample
}

// HTTP status classes, the index of PoolSample.Requests.
const (
	Class1xx = iota
	Class2xx
	Class3xx
	Class4xx
	Class5xx
	ClassError // no usable reply
	numClasses
)

var classNames = [numClasses]string{"1xx", "2xx", "3xx", "4xx", "5xx", "error"}

// PoolSample is one pool's figures at scrape time.
type PoolSample struct {
	Name string
	// Slots are the pool's slots (one request in flight each).
	Slots pool.Stats
	// Requests counts exchanges by status class (Class1xx ... ClassError).
	Requests    [numClasses]uint64
	Duration    pool.Histogram
	ConnsOpened uint64
	ConnsClosed uint64
	Endpoints   []balancer.EndpointStats
}

// NewBreakerCollector exports every breaker's state and counters at scrape
// time, so the call path pays nothing for Prometheus:
//
//	vsm_breaker_state{name}                        0 closed, 1 open, 2 half-open
//	vsm_breaker_calls_total{name,outcome}          success, failure, rejected, timeout, slow
//	vsm_breaker_call_duration_seconds{name}        sampled call durations
func NewBreakerCollector(src BreakerSource) prometheus.Collector { return breakerCollector{src} }

// NewPoolCollector exports every pool's figures at scrape time:
//
//	vsm_pool_slots{pool,state}                     size, in_use, idle, waiting
//	vsm_pool_checkouts_total{pool}
//	vsm_pool_checkout_timeouts_total{pool}
//	vsm_pool_checkout_wait_seconds{pool}
//	vsm_pool_connections_total{pool,event}         opened, closed
//	vsm_http_requests_total{pool,class}            1xx..5xx, error
//	vsm_http_request_duration_seconds{pool}
//	vsm_pool_endpoint_ejected{pool,endpoint}       1 while ejected
func NewPoolCollector(src PoolSource) prometheus.Collector { return poolCollector{src} }

type breakerCollector struct{ src BreakerSource }

var (
	breakerStateDesc = prometheus.NewDesc("vsm_breaker_state",
		"Circuit breaker state: 0 closed, 1 open, 2 half-open.", []string{"name"}, nil)
	breakerCallsDesc = prometheus.NewDesc("vsm_breaker_calls_total",
		"Calls through a circuit breaker, by outcome.", []string{"name", "outcome"}, nil)
	breakerLatencyDesc = prometheus.NewDesc("vsm_breaker_call_duration_seconds",
		"Sampled duration of calls through a circuit breaker.", []string{"name"}, nil)
)

func (breakerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- breakerStateDesc
	ch <- breakerCallsDesc
	ch <- breakerLatencyDesc
}

func (c breakerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, b := range c.src.Breakers() {
		st := b.Stats()
		name := b.Name()
		ch <- prometheus.MustNewConstMetric(breakerStateDesc, prometheus.GaugeValue, float64(stateValue(st.State)), name)
		for outcome, v := range map[string]uint64{
			"success": st.Successes, "failure": st.Failures, "rejected": st.Rejections,
			"timeout": st.Timeouts, "slow": st.SlowCalls,
		} {
			ch <- prometheus.MustNewConstMetric(breakerCallsDesc, prometheus.CounterValue, float64(v), name, outcome)
		}
		if h := st.Latency; h.Count > 0 {
			// Prometheus buckets are cumulative; ours are not.
			buckets := make(map[float64]uint64, len(h.Bounds))
			var cum uint64
			for i, le := range h.Bounds {
				cum += h.Counts[i]
				buckets[le.Seconds()] = cum
			}
			ch <- prometheus.MustNewConstHistogram(breakerLatencyDesc, h.Count, h.Sum.Seconds(), buckets, name)
		}
	}
}

func stateValue(s breaker.State) int {
	switch s {
	case breaker.Open:
		return 1
	case breaker.HalfOpen:
		return 2
	}
	return 0
}

type poolCollector struct{ src PoolSource }

var (
	poolGaugeDesc = prometheus.NewDesc("vsm_pool_slots",
		"Pool slots (one request in flight each), by state: size, in_use, idle, waiting (queued checkouts).",
		[]string{"pool", "state"}, nil)
	poolCheckoutsDesc = prometheus.NewDesc("vsm_pool_checkouts_total",
		"Successful pool checkouts.", []string{"pool"}, nil)
	poolTimeoutsDesc = prometheus.NewDesc("vsm_pool_checkout_timeouts_total",
		"Pool checkouts that gave up waiting for a free slot.", []string{"pool"}, nil)
	poolWaitDesc = prometheus.NewDesc("vsm_pool_checkout_wait_seconds",
		"Time spent waiting for a pool slot.", []string{"pool"}, nil)
	poolConnsDesc = prometheus.NewDesc("vsm_pool_connections_total",
		"TCP connections opened and closed by a pool's transport.", []string{"pool", "event"}, nil)
	httpRequestsDesc = prometheus.NewDesc("vsm_http_requests_total",
		"HTTP exchanges (attempts) by pool and status class (1xx..5xx, or error for no usable reply).",
		[]string{"pool", "class"}, nil)
	httpDurationDesc = prometheus.NewDesc("vsm_http_request_duration_seconds",
		"Duration of HTTP exchanges, from send to the end of the body.", []string{"pool"}, nil)
	endpointEjectedDesc = prometheus.NewDesc("vsm_pool_endpoint_ejected",
		"1 while outlier detection keeps the endpoint out of rotation.", []string{"pool", "endpoint"}, nil)
)

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolGaugeDesc, poolCheckoutsDesc, poolTimeoutsDesc, poolWaitDesc,
		poolConnsDesc, httpRequestsDesc, httpDurationDesc, endpointEjectedDesc} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.src.PoolSamples() {
		name, st := p.Name, p.Slots
		gauge := func(state string, v int) {
			ch <- prometheus.MustNewConstMetric(poolGaugeDesc, prometheus.GaugeValue, float64(v), name, state)
		}
		gauge("size", st.Size)
		gauge("in_use", st.InUse)
		gauge("idle", st.Idle)
		gauge("waiting", st.Waiting)
		ch <- prometheus.MustNewConstMetric(poolCheckoutsDesc, prometheus.CounterValue, float64(st.Checkouts), name)
		ch <- prometheus.MustNewConstMetric(poolTimeoutsDesc, prometheus.CounterValue, float64(st.Timeouts), name)
		ch <- constHistogram(poolWaitDesc, st.Wait, name)
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.CounterValue, float64(p.ConnsOpened), name, "opened")
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.CounterValue, float64(p.ConnsClosed), name, "closed")
		for class, v := range p.Requests {
			ch <- prometheus.MustNewConstMetric(httpRequestsDesc, prometheus.CounterValue, float64(v), name, classNames[class])
		}
		ch <- constHistogram(httpDurationDesc, p.Duration, name)
		for _, e := range p.Endpoints {
			v := 0.0
			if e.Ejected {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(endpointEjectedDesc, prometheus.GaugeValue, v, name, e.Addr)
		}
	}
}

// constHistogram turns a cumulative pool.Histogram into a Prometheus one.
func constHistogram(d *prometheus.Desc, h pool.Histogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Buckets))
	for _, b := range h.Buckets {
		buckets[b.LE.Seconds()] = b.Count
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum.Seconds(), buckets, labels...)
}
