package health

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/config"
)

type pingFunc func(context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

// The seed's YAML, parsed and defaulted, gives the probe and the timing it
// says.
func TestSpecFromConfig(t *testing.T) {
	c, err := config.Parse("vsm.yaml", []byte(`
health_checks:
  api:
    url: http://127.0.0.1:1/healthz
    interval: 5s
    timeout: 1s
    expected_status: [200, 204]
    body_regexp: 'ok|up'
    unhealthy_interval: 30s
    critical: true
  legacy: {type: tcp, target: "127.0.0.1:2", jitter_percent: -1}
  rpc: {type: grpc, address: "127.0.0.1:3", service: svc, healthy_threshold: 2, unhealthy_threshold: 5}
  ws: {type: websocket, url: "ws://127.0.0.1:4/ws"}
  store: {type: redis}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := c.WithDefaults()
	pinged := false
	specs := map[string]Spec{}
	for name, hc := range d.HealthChecks {
		s, err := SpecFromConfig(name, hc, pingFunc(func(context.Context) error { pinged = true; return nil }))
		if err != nil {
			t.Fatal(err)
		}
		specs[name] = s
	}
	api := specs["api"]
	hp := api.Probe.(*HTTPProbe)
	if api.Kind != KindHTTP || hp.URL != "http://127.0.0.1:1/healthz" || !reflect.DeepEqual(hp.ExpectedStatus, []int{200, 204}) ||
		hp.BodyRegexp.String() != "ok|up" || api.Interval != 5*time.Second || api.Timeout != time.Second ||
		api.UnhealthyInterval != 30*time.Second || !api.Critical || api.Jitter != 0.1 || api.InitialJitter != 500*time.Millisecond {
		t.Errorf("api %+v", api)
	}
	legacy, _ := specs["legacy"].normalized()
	if tp := legacy.Probe.(*TCPProbe); tp.Address != "127.0.0.1:2" || legacy.Jitter != 0 || legacy.InitialJitter != 0 {
		t.Errorf("legacy %+v", legacy)
	}
	rpc := specs["rpc"]
	if gp := rpc.Probe.(*GRPCProbe); gp.Address != "127.0.0.1:3" || gp.Service != "svc" || rpc.HealthyThreshold != 2 || rpc.UnhealthyThreshold != 5 {
		t.Errorf("rpc %+v", rpc)
	}
	if wp := specs["ws"].Probe.(*WebSocketProbe); wp.URL != "ws://127.0.0.1:4/ws" {
		t.Errorf("ws %+v", wp)
	}
	if err := specs["store"].Probe.Probe(context.Background()); err != nil || !pinged || specs["store"].Kind != KindRedis {
		t.Errorf("store: %v pinged=%v", err, pinged)
	}
	if _, err := SpecFromConfig("store", d.HealthChecks["store"], nil); !errors.Is(err, ErrSpec) {
		t.Errorf("redis without a pinger: %v", err)
	}
}
