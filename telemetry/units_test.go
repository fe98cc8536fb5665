package telemetry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/viable-systems/vsm-connections/balancer"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/pool"
	"github.com/viable-systems/vsm-connections/telemetry"
)

type breakers []*breaker.Breaker

func (b breakers) Breakers() []*breaker.Breaker { return b }

type pools []telemetry.PoolSample

func (p pools) PoolSamples() []telemetry.PoolSample { return p }

// gathered maps "name{label=value,...}" to a gauge's or counter's value.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName() + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetName() + "=" + l.GetValue()
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			out[key+"}"] = v
		}
	}
	return out
}

// The collectors read the units through the small source interfaces at
// scrape time.
func TestUnitCollectors(t *testing.T) {
	b := breaker.New("api", breaker.Settings{FailureThreshold: 1})
	_ = b.Call(context.Background(), func(context.Context) error { return nil })
	_ = b.Call(context.Background(), func(context.Context) error { return errors.New("boom") })
	_ = b.Call(context.Background(), func(context.Context) error { return nil }) // rejected: open
	reg := prometheus.NewRegistry()
	reg.MustRegister(telemetry.NewBreakerCollector(breakers{b}))
	reg.MustRegister(telemetry.NewPoolCollector(pools{{
		Name:        "web",
		Slots:       pool.Stats{Size: 4, InUse: 1, Idle: 2, Waiting: 3, Checkouts: 9, Timeouts: 1},
		Requests:    [...]uint64{telemetry.Class2xx: 7, telemetry.Class5xx: 2, telemetry.ClassError: 1},
		ConnsOpened: 5, ConnsClosed: 2,
		Endpoints: []balancer.EndpointStats{{Addr: "10.0.0.1:80", Ejected: true}, {Addr: "10.0.0.2:80"}},
	}}))
	got := gathered(t, reg)
	want := map[string]float64{
		"vsm_breaker_state{name=api}":                              1,
		"vsm_breaker_calls_total{name=api,outcome=success}":        1,
		"vsm_breaker_calls_total{name=api,outcome=failure}":        1,
		"vsm_breaker_calls_total{name=api,outcome=rejected}":       1,
		"vsm_pool_slots{pool=web,state=size}":                      4,
		"vsm_pool_slots{pool=web,state=in_use}":                    1,
		"vsm_pool_slots{pool=web,state=idle}":                      2,
		"vsm_pool_slots{pool=web,state=waiting}":                   3,
		"vsm_pool_checkouts_total{pool=web}":                       9,
		"vsm_pool_checkout_timeouts_total{pool=web}":               1,
		"vsm_pool_connections_total{event=opened,pool=web}":        5,
		"vsm_pool_connections_total{event=closed,pool=web}":        2,
		"vsm_http_requests_total{class=2xx,pool=web}":              7,
		"vsm_http_requests_total{class=5xx,pool=web}":              2,
		"vsm_http_requests_total{class=error,pool=web}":            1,
		"vsm_http_requests_total{class=1xx,pool=web}":              0,
		"vsm_pool_endpoint_ejected{endpoint=10.0.0.1:80,pool=web}": 1,
		"vsm_pool_endpoint_ejected{endpoint=10.0.0.2:80,pool=web}": 0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}
