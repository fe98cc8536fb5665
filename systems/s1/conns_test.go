package s1

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/viable-systems/vsm-connections/actors/grpcpool"
	"github.com/viable-systems/vsm-connections/actors/ws"
	"github.com/viable-systems/vsm-connections/config"
)

func parsePool(t *testing.T, yaml, name string) config.Pool {
	t.Helper()
	c, err := config.Parse("p.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c.WithDefaults().Pools[name]
}

// Every websocket key reaches its ws.Config field; the endpoints become
// URLs with the path, in order.
func TestWebSocketConfigFromYAML(t *testing.T) {
	p := parsePool(t, `
pools:
  feed:
    protocol: websocket
    endpoints: [a:1, b:2]
    path: /s?v=2
    size: 3
    dial_timeout: 2s
    headers: {x-token: t}
    heartbeat_interval: 4s
    heartbeat_grace: 1s
    backoff_initial: 10ms
    backoff_max: 1s
    write_timeout: 3s
    close_timeout: 250ms
    while_disconnected: fail_fast
    queue_size: 7
    queue_timeout: 9s
    max_message_size: 4096
    writer_only: true
`, "feed")
	got, err := WebSocketConfig("feed", p)
	if err != nil {
		t.Fatal(err)
	}
	want := ws.PoolConfig{Name: "feed", Size: 3, Conn: ws.Config{
		Endpoints: []string{"ws://a:1/s?v=2", "ws://b:2/s?v=2"}, Header: http.Header{"X-Token": {"t"}},
		HeartbeatInterval: 4 * time.Second, HeartbeatGrace: time.Second,
		BackoffInitial: 10 * time.Millisecond, BackoffMax: time.Second, DialTimeout: 2 * time.Second,
		WriteTimeout: 3 * time.Second, CloseTimeout: 250 * time.Millisecond, WhileDisconnected: ws.FailFast,
		QueueSize: 7, QueueTimeout: 9 * time.Second, MaxMessageSize: 4096, WriterOnly: true,
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("config\n%+v\nwant\n%+v", got, want)
	}
	// Defaults: one connection on host:port at "/", with TLS files for wss.
	p = parsePool(t, "pools:\n  f: {protocol: websocket, host: h, port: 443, tls: {ca_file: ca.pem}}\n", "f")
	got, err = WebSocketConfig("f", p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != 1 || !reflect.DeepEqual(got.Conn.Endpoints, []string{"wss://h:443/"}) || got.Conn.TLS.CAFile != "ca.pem" ||
		got.Conn.WhileDisconnected != ws.Queue || got.Conn.HeartbeatInterval != ws.DefaultHeartbeatInterval {
		t.Fatalf("defaults %+v", got)
	}
}

// The grpc keys reach grpcpool.Config; unset retry keys take
// fault_tolerance's defaults.
func TestGRPCConfigFromYAML(t *testing.T) {
	p := parsePool(t, `
fault_tolerance: {default_max_attempts: 5, default_base_delay: 20ms, default_max_delay: 2s}
pools:
  rpc:
    protocol: grpc
    endpoints: [a:1, b:2]
    load_balancing: least_request
    timeout: 3s
    idle_timeout: 2m
    max_conns: 2
    request_events: true
    max_concurrent_streams: 100
    retry: {codes: [unavailable, RESOURCE_EXHAUSTED]}
    failure_codes: [INTERNAL]
`, "rpc")
	got, err := GRPCConfig("rpc", p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "rpc" || !reflect.DeepEqual(got.Endpoints, []string{"a:1", "b:2"}) || got.Balancing != "least_request" ||
		got.Timeout != 3*time.Second || got.IdleTimeout != 2*time.Minute || got.ConnectTimeout != 5*time.Second ||
		got.MaxConns != 2 || !got.RequestEvents || got.MaxConcurrentStreams != 100 || !reflect.DeepEqual(got.FailureCodes, []codes.Code{codes.Internal}) {
		t.Fatalf("config %+v", got)
	}
	wantRetry := grpcpool.RetryPolicy{MaxAttempts: 5, InitialBackoff: 20 * time.Millisecond, MaxBackoff: 2 * time.Second,
		RetryableCodes: []codes.Code{codes.Unavailable, codes.ResourceExhausted}}
	if !reflect.DeepEqual(got.Retry, wantRetry) {
		t.Fatalf("retry %+v, want %+v", got.Retry, wantRetry)
	}
	// The defaults name grpc-go's default failure codes.
	p = parsePool(t, "pools:\n  r: {protocol: grpc, host: h, port: 1}\n", "r")
	if got, err = GRPCConfig("r", p); err != nil || !reflect.DeepEqual(got.FailureCodes, grpcpool.DefaultFailureCodes) ||
		!reflect.DeepEqual(got.Retry.RetryableCodes, grpcpool.DefaultRetryableCodes) || got.Retry.MaxAttempts != 3 || got.MaxConns != 4 {
		t.Fatalf("defaults %+v %v", got, err)
	}
}
