package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
)

// ConnPoolSource hands out a sample of every WebSocket and gRPC pool;
// System 1 implements it.
type ConnPoolSource interface {
	ConnPoolSamples() []ConnPoolSample
}

// Protocols of a ConnPoolSample.
const (
	ProtocolWebSocket = "websocket"
	ProtocolGRPC      = "grpc"
)

// ConnPoolSample is one WebSocket or gRPC pool's figures at scrape time.
type ConnPoolSample struct {
	Name     string
	Protocol string // ProtocolWebSocket or ProtocolGRPC
	// Conns are the connections the pool holds (WebSocket: its size; gRPC:
	// its ClientConns now) and Open those ready to carry traffic (open
	// WebSocket connections, READY ClientConns).
	Conns, Open int

	// WebSocket only.
	Connects, DialFailures, Sent, Received, Dropped, HeartbeatLost uint64
	Queued                                                         int

	// gRPC only: streams (calls) in flight, the stream limit the server
	// advertised over all ClientConns (0 unknown, -1 none), calls by final
	// code name, retries and breaker rejections.
	InFlight, StreamLimit int64
	Calls                 map[string]uint64
	Retries, Rejected     uint64
}

// NewConnPoolCollector exports every WebSocket and gRPC pool's figures at
// scrape time:
//
//	vsm_pool_conns{pool,protocol,state}      total, open
//	vsm_ws_connects_total{pool}              connections made (reconnects included)
//	vsm_ws_dial_failures_total{pool}
//	vsm_ws_messages_total{pool,direction}    sent, received
//	vsm_ws_dropped_total{pool}               sends not written (queue full, fail fast, expired, abandoned)
//	vsm_ws_queued{pool}                      sends waiting to be written
//	vsm_ws_heartbeat_lost_total{pool}
//	vsm_grpc_streams{pool,state}             in_flight, limit (-1: none advertised)
//	vsm_grpc_calls_total{pool,code}
//	vsm_grpc_retries_total{pool}
//	vsm_grpc_rejected_total{pool}            attempts the breaker refused
func NewConnPoolCollector(src ConnPoolSource) prometheus.Collector { return connPoolCollector{src} }

type connPoolCollector struct{ src ConnPoolSource }

var (
	connPoolConnsDesc = prometheus.NewDesc("vsm_pool_conns",
		"Connections of a WebSocket or gRPC pool, by state: total, open (ready to carry traffic).",
		[]string{"pool", "protocol", "state"}, nil)
	wsConnectsDesc = prometheus.NewDesc("vsm_ws_connects_total",
		"WebSocket connections made, reconnects included.", []string{"pool"}, nil)
	wsDialFailuresDesc = prometheus.NewDesc("vsm_ws_dial_failures_total",
		"WebSocket dials that failed.", []string{"pool"}, nil)
	wsMessagesDesc = prometheus.NewDesc("vsm_ws_messages_total",
		"WebSocket data messages, by direction: sent, received.", []string{"pool", "direction"}, nil)
	wsDroppedDesc = prometheus.NewDesc("vsm_ws_dropped_total",
		"WebSocket sends that were not written: queue full, fail fast, expired, abandoned.", []string{"pool"}, nil)
	wsQueuedDesc = prometheus.NewDesc("vsm_ws_queued",
		"WebSocket sends waiting to be written.", []string{"pool"}, nil)
	wsHeartbeatDesc = prometheus.NewDesc("vsm_ws_heartbeat_lost_total",
		"WebSocket connections closed because no pong came within interval + grace.", []string{"pool"}, nil)
	grpcStreamsDesc = prometheus.NewDesc("vsm_grpc_streams",
		"gRPC streams (calls) by state: in_flight, and limit, the server's advertised limit over all ClientConns (0 unknown, -1 none).",
		[]string{"pool", "state"}, nil)
	grpcCallsDesc = prometheus.NewDesc("vsm_grpc_calls_total",
		"gRPC calls and streams finished, by final status code.", []string{"pool", "code"}, nil)
	grpcRetriesDesc = prometheus.NewDesc("vsm_grpc_retries_total",
		"gRPC retry attempts made.", []string{"pool"}, nil)
	grpcRejectedDesc = prometheus.NewDesc("vsm_grpc_rejected_total",
		"gRPC attempts the circuit breaker refused.", []string{"pool"}, nil)
)

func (connPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{connPoolConnsDesc, wsConnectsDesc, wsDialFailuresDesc, wsMessagesDesc,
		wsDroppedDesc, wsQueuedDesc, wsHeartbeatDesc, grpcStreamsDesc, grpcCallsDesc, grpcRetriesDesc, grpcRejectedDesc} {
		ch <- d
	}
}

func (c connPoolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.src.ConnPoolSamples() {
		name := p.Name
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{name}, labels...)...)
		}
		counter := func(d *prometheus.Desc, v uint64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{name}, labels...)...)
		}
		gauge(connPoolConnsDesc, float64(p.Conns), p.Protocol, "total")
		gauge(connPoolConnsDesc, float64(p.Open), p.Protocol, "open")
		switch p.Protocol {
		case ProtocolWebSocket:
			counter(wsConnectsDesc, p.Connects)
			counter(wsDialFailuresDesc, p.DialFailures)
			counter(wsMessagesDesc, p.Sent, "sent")
			counter(wsMessagesDesc, p.Received, "received")
			counter(wsDroppedDesc, p.Dropped)
			gauge(wsQueuedDesc, float64(p.Queued))
			counter(wsHeartbeatDesc, p.HeartbeatLost)
		case ProtocolGRPC:
			gauge(grpcStreamsDesc, float64(p.InFlight), "in_flight")
			gauge(grpcStreamsDesc, float64(p.StreamLimit), "limit")
			for code, v := range p.Calls {
				counter(grpcCallsDesc, v, code)
			}
			counter(grpcRetriesDesc, p.Retries)
			counter(grpcRejectedDesc, p.Rejected)
		}
	}
}
