package telemetry_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/viable-systems/vsm-connections/telemetry"
)

type connPools []telemetry.ConnPoolSample

func (p connPools) ConnPoolSamples() []telemetry.ConnPoolSample { return p }

// Each protocol's figures become its own series, and only its own.
func TestConnPoolCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(telemetry.NewConnPoolCollector(connPools{
		{Name: "feed", Protocol: telemetry.ProtocolWebSocket, Conns: 2, Open: 1, Connects: 5, DialFailures: 3,
			Sent: 10, Received: 8, Dropped: 2, HeartbeatLost: 1, Queued: 4},
		{Name: "rpc", Protocol: telemetry.ProtocolGRPC, Conns: 2, Open: 2, InFlight: 7, StreamLimit: 8,
			Calls: map[string]uint64{"OK": 9, "Unavailable": 3}, Retries: 2, Rejected: 1},
	}))
	got := gathered(t, reg)
	want := map[string]float64{
		"vsm_pool_conns{pool=feed,protocol=websocket,state=total}": 2,
		"vsm_pool_conns{pool=feed,protocol=websocket,state=open}":  1,
		"vsm_ws_connects_total{pool=feed}":                         5,
		"vsm_ws_dial_failures_total{pool=feed}":                    3,
		"vsm_ws_messages_total{direction=sent,pool=feed}":          10,
		"vsm_ws_messages_total{direction=received,pool=feed}":      8,
		"vsm_ws_dropped_total{pool=feed}":                          2,
		"vsm_ws_queued{pool=feed}":                                 4,
		"vsm_ws_heartbeat_lost_total{pool=feed}":                   1,
		"vsm_pool_conns{pool=rpc,protocol=grpc,state=total}":       2,
		"vsm_pool_conns{pool=rpc,protocol=grpc,state=open}":        2,
		"vsm_grpc_streams{pool=rpc,state=in_flight}":               7,
		"vsm_grpc_streams{pool=rpc,state=limit}":                   8,
		"vsm_grpc_calls_total{code=OK,pool=rpc}":                   9,
		"vsm_grpc_calls_total{code=Unavailable,pool=rpc}":          3,
		"vsm_grpc_retries_total{pool=rpc}":                         2,
		"vsm_grpc_rejected_total{pool=rpc}":                        1,
	}
	if !maps.Equal(got, want) {
		t.Fatalf("series:\n%v\nwant:\n%v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
}
