package vsm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/grpcpool"
	"github.com/viable-systems/vsm-connections/actors/ws"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// echoServer is a gorilla echo server on 127.0.0.1; every handshake's
// X-Token header goes to tokens.
func echoServer(t *testing.T) (addr string, tokens <-chan string) {
	t.Helper()
	ch := make(chan string, 16)
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/echo" {
			http.NotFound(w, r)
			return
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		ch <- r.Header.Get("X-Token")
		for {
			typ, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, data); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), ch
}

// grpcServer runs grpc-go's health service on 127.0.0.1, with the
// service "vsm.test" serving. Its generated stub (grpc_health_v1) is one
// the root package may import; the test service of actors/grpcpool is
// internal to that package.
func grpcServer(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("vsm.test", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(lis) }()
	t.Cleanup(func() { s.Stop(); <-done })
	return lis.Addr().String()
}

// deadPort is a port on 127.0.0.1 where nothing listens.
func deadPort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	lis.Close()
	return port
}

// A node started from YAML with a WebSocket pool and gRPC pools: the
// units are in S1's tree, a message makes the round trip through the
// echo server, a generated stub and an actor message call the gRPC
// server, the admin API and the metrics show them, and a dead gRPC
// server opens its pool's breaker.
func TestWebSocketAndGRPCPoolsFromYAML(t *testing.T) {
	wsAddr, tokens := echoServer(t)
	wsHost, wsPort, _ := strings.Cut(wsAddr, ":")
	rpcAddr := grpcServer(t)
	_, rpcPort, _ := strings.Cut(rpcAddr, ":")
	dead := deadPort(t)

	cfg := poolConfig(t, fmt.Sprintf(`
circuit_breakers:
  feed: {failure_threshold: 3, recovery_timeout: 1h}
  rpc: {failure_threshold: 3, recovery_timeout: 1h}
  dead: {failure_threshold: 2, recovery_timeout: 1h}
  deadfeed: {failure_threshold: 2, recovery_timeout: 1h}
pools:
  feed:
    protocol: websocket
    host: %[1]s
    port: %[2]s
    path: /echo
    size: 2
    circuit_breaker: feed
    headers: {X-Token: s3cret}
  deadfeed:
    protocol: websocket
    host: 127.0.0.1
    port: %[4]s
    circuit_breaker: deadfeed
    backoff_initial: 1ms
    backoff_max: 5ms
  rpc:
    protocol: grpc
    host: 127.0.0.1
    port: %[3]s
    circuit_breaker: rpc
  dead:
    protocol: grpc
    endpoints: ["127.0.0.1:%[4]s"]
    circuit_breaker: dead
    timeout: 5s
    retry: {max_attempts: 1}
`, wsHost, wsPort, rpcPort, dead))
	echoes := make(chan string, 16)
	n := startWith(t, cfg, vsm.WithWebSocketConfig("feed", func(c *ws.Config) {
		c.Handler = ws.HandlerFuncs{OnMessage: func(_ *ws.Conn, m ws.Message) { echoes <- string(m.Data) }}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The units in the tree: the WebSocket pool a supervisor of its
	// connections, the gRPC pools their channel actors.
	kinds := map[string]string{}
	var walk func(supervisor.TreeNode)
	walk = func(tn supervisor.TreeNode) {
		kinds[tn.Name] = tn.Kind
		for _, c := range tn.Children {
			walk(c)
		}
	}
	walk(n.Tree())
	var units []string
	for name := range kinds {
		if strings.HasPrefix(name, "s1/pool/") {
			units = append(units, name+":"+kinds[name])
		}
	}
	slices.Sort(units)
	want := []string{
		"s1/pool/dead:worker", "s1/pool/deadfeed/conn/0:worker", "s1/pool/deadfeed:supervisor",
		"s1/pool/feed/conn/0:worker", "s1/pool/feed/conn/1:worker", "s1/pool/feed:supervisor", "s1/pool/rpc:worker",
	}
	if !slices.Equal(units, want) {
		t.Fatalf("S1's pool units %v, want %v", units, want)
	}

	// A WebSocket round trip: the send waits in the queue until a
	// connection is open, the handshake carries the configured header.
	feed, ok := n.WebSocket("feed")
	if !ok {
		t.Fatal("no websocket pool feed")
	}
	if got := recv(t, tokens); got != "s3cret" {
		t.Fatalf("handshake X-Token %q, want s3cret", got)
	}
	if err := feed.Send(ctx, "", ws.TextMessage("hello")); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, echoes); got != "hello" {
		t.Fatalf("echo %q, want hello", got)
	}
	if names := []string{feed.Conns()[0].Name(), feed.Conns()[1].Name()}; !slices.Equal(names, []string{"s1/pool/feed/conn/0", "s1/pool/feed/conn/1"}) {
		t.Fatalf("connection names %v", names)
	}
	if _, ok := n.WebSocket("rpc"); ok {
		t.Fatal("the grpc pool rpc is a websocket pool too")
	}

	// A unary call through a generated stub, and one by message.
	ch, ok := n.GRPC("rpc")
	if !ok {
		t.Fatal("no grpc pool rpc")
	}
	var cc grpc.ClientConnInterface = ch
	hc := healthpb.NewHealthClient(cc)
	r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "vsm.test"})
	if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("unary: %v %v, want SERVING", r, err)
	}
	// NotFound describes the request, not the service: the breaker does
	// not count it.
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown service: %v, want NotFound", err)
	}
	pid, ok := n.Lookup("s1/pool/rpc")
	if !ok {
		t.Fatal("no channel actor s1/pool/rpc")
	}
	reply, err := grpcpool.Call(ctx, n.Root(), pid, "/grpc.health.v1.Health/Check", &healthpb.HealthCheckRequest{Service: "vsm.test"})
	if rr, _ := reply.(*healthpb.HealthCheckResponse); err != nil || rr.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("by message: %v %v", reply, err)
	}
	if b, _ := n.Breaker("rpc"); ch.Config().Breaker != b || b.Stats().Failures != 0 || b.Stats().Successes != 3 {
		t.Fatalf("the grpc pool's breaker: %+v, want rpc with 3 successes", b.Stats())
	}

	// A dead gRPC server: each call fails Unavailable and counts against
	// the breaker, which opens at its threshold; then calls are refused
	// without being sent.
	dch, _ := n.GRPC("dead")
	dc := healthpb.NewHealthClient(dch)
	for i := range 2 {
		if _, err := dc.Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable || errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("call %d to a dead server: %v, want Unavailable from the server side", i, err)
		}
	}
	db, _ := n.Breaker("dead")
	if db.State() != breaker.Open {
		t.Fatalf("breaker dead is %v after 2 failures, want open", db.State())
	}
	if _, err := dc.Check(ctx, &healthpb.HealthCheckRequest{}); !errors.Is(err, breaker.ErrOpen) || status.Code(err) != codes.Unavailable {
		t.Fatalf("call through the open breaker: %v, want ErrOpen with status Unavailable", err)
	}
	if st := dch.Stats(); st.Rejected != 1 || st.Codes["Unavailable"] != 3 {
		t.Fatalf("dead pool stats: rejected %d, codes %v; want 1 and 3 Unavailable", st.Rejected, st.Codes)
	}

	// A dead WebSocket server: the dials count against the pool's breaker.
	// (The breaker's own listener, not the event stream: protoactor's
	// SubscribeWithPredicate races with a Publish in flight.)
	dfb, _ := n.Breaker("deadfeed")
	opened := make(chan struct{}, 1)
	stop := dfb.Subscribe(func(tr breaker.Transition) {
		if tr.To == breaker.Open {
			select {
			case opened <- struct{}{}:
			default:
			}
		}
	})
	defer stop()
	if dfb.State() != breaker.Open {
		recv(t, opened)
	}
	if st := dfb.Stats(); st.Failures != 2 {
		t.Fatalf("breaker deadfeed: %+v, want the dials' 2 failures", st)
	}

	// The admin API lists every pool, sorted, with its protocol.
	srv := httptest.NewServer(admin.New(n, admin.WithRoutes(admin.PoolRoutes(n)...)))
	defer srv.Close()
	code, body := get(t, srv.URL+"/api/v1/pools")
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
		t.Fatalf("GET /api/v1/pools: %d %s %v", code, body, err)
	}
	var listed []string
	for _, p := range list {
		listed = append(listed, fmt.Sprintf("%v:%v:%v", p["name"], p["protocol"], p["breaker"]))
	}
	if want := []string{"dead:grpc:dead", "deadfeed:websocket:deadfeed", "feed:websocket:feed", "rpc:grpc:rpc"}; !slices.Equal(listed, want) {
		t.Fatalf("listed %v, want %v", listed, want)
	}
	var one struct {
		Protocol string
		Size     int
		Total    ws.Stats
	}
	code, body = get(t, srv.URL+"/api/v1/pools/feed")
	if err := json.Unmarshal([]byte(body), &one); code != 200 || err != nil || one.Protocol != "websocket" || one.Size != 2 || one.Total.Sent != 1 || one.Total.Received != 1 {
		t.Fatalf("GET /api/v1/pools/feed: %d %s", code, body)
	}
	var rpc struct {
		Protocol string
		Calls    uint64
		Codes    map[string]uint64
	}
	code, body = get(t, srv.URL+"/api/v1/pools/rpc")
	if err := json.Unmarshal([]byte(body), &rpc); code != 200 || err != nil || rpc.Protocol != "grpc" || rpc.Calls != 3 || rpc.Codes["OK"] != 2 || rpc.Codes["NotFound"] != 1 {
		t.Fatalf("GET /api/v1/pools/rpc: %d %s", code, body)
	}
	resp, err := http.Post(srv.URL+"/api/v1/pools/feed", "application/json", strings.NewReader(`{"size": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "websocket pool: only http pools") {
		t.Fatalf("resize of a websocket pool: %d %s, want 400", resp.StatusCode, b)
	}

	// Metrics per pool.
	for _, m := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"vsm_pool_conns", []string{"pool", "feed", "protocol", "websocket", "state", "total"}, 2},
		{"vsm_ws_messages_total", []string{"pool", "feed", "direction", "sent"}, 1},
		{"vsm_ws_messages_total", []string{"pool", "feed", "direction", "received"}, 1},
		{"vsm_grpc_calls_total", []string{"pool", "rpc", "code", "OK"}, 2},
		{"vsm_grpc_calls_total", []string{"pool", "rpc", "code", "NotFound"}, 1},
		{"vsm_grpc_calls_total", []string{"pool", "dead", "code", "Unavailable"}, 3},
		{"vsm_grpc_rejected_total", []string{"pool", "dead"}, 1},
		{"vsm_grpc_streams", []string{"pool", "rpc", "state", "in_flight"}, 0},
	} {
		if got := metricValue(t, n, m.name, m.labels...); got != m.want {
			t.Errorf("%s%v = %v, want %v", m.name, m.labels, got, m.want)
		}
	}
}

// A key of one protocol on another's pool, or a bad value, stops Start
// with the file and line.
func TestWebSocketAndGRPCConfigErrors(t *testing.T) {
	_, err := config.Parse("pools.yaml", []byte(`pools:
  rpc:
    protocol: grpc
    host: 127.0.0.1
    port: 1
    heartbeat_interval: 1s
  feed:
    protocol: websocket
    host: 127.0.0.1
    port: 1
    while_disconnected: drop
`))
	want := "pools.yaml:6: pools.rpc.heartbeat_interval: only for websocket pools, and this one is grpc\n" +
		`pools.yaml:11: pools.feed.while_disconnected: must be one of queue, fail_fast; got "drop"`
	if err == nil || err.Error() != want {
		t.Fatalf("Parse = %v\nwant %s", err, want)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// The WebSocket connections are S1's supervised actors: a handler panic
// restarts only that connection's actor under s1/pool/<name>, raises a
// Warning from it, and the new incarnation redials and carries on.
func TestWebSocketPoolConnectionRestartsAlone(t *testing.T) {
	wsAddr, _ := echoServer(t)
	host, port, _ := strings.Cut(wsAddr, ":")
	connected := make(chan string, 16)
	echoes := make(chan string, 16)
	n := startWith(t, poolConfig(t, fmt.Sprintf(`
pools:
  feed: {protocol: websocket, host: %s, port: %s, path: /echo, size: 2}
`, host, port)), vsm.WithWebSocketConfig("feed", func(c *ws.Config) {
		c.Handler = ws.HandlerFuncs{
			OnConnected: func(c *ws.Conn, _ string) { connected <- c.Name() },
			OnMessage: func(_ *ws.Conn, m ws.Message) {
				if string(m.Data) == "boom" {
					panic("handler bug")
				}
				echoes <- string(m.Data)
			},
		}
	}))
	first := []string{recv(t, connected), recv(t, connected)}
	slices.Sort(first)
	if want := []string{"s1/pool/feed/conn/0", "s1/pool/feed/conn/1"}; !slices.Equal(first, want) {
		t.Fatalf("connected %v, want %v", first, want)
	}
	alerts := collect[*event.AlertRaised](t, n)

	feed, _ := n.WebSocket("feed")
	victim := feed.Pick("k")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := victim.Send(ctx, ws.TextMessage("boom")); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, connected); got != victim.Name() {
		t.Fatalf("reconnected %s, want the restarted %s", got, victim.Name())
	}
	a := waitFor(t, alerts, "the handler's warning", func(a *event.AlertRaised) bool { return a.Source == victim.Name() })
	if a.Severity != "warning" {
		t.Fatalf("alert %+v, want a warning", a)
	}
	restarts := map[string]int{}
	var walk func(supervisor.TreeNode)
	walk = func(tn supervisor.TreeNode) {
		restarts[tn.Name] = tn.Restarts
		for _, c := range tn.Children {
			walk(c)
		}
	}
	walk(n.Tree())
	other := "s1/pool/feed/conn/0"
	if victim.Name() == other {
		other = "s1/pool/feed/conn/1"
	}
	if restarts[victim.Name()] != 1 || restarts[other] != 0 || restarts["s1/pool/feed"] != 0 || restarts["s1"] != 0 {
		t.Fatalf("restarts %v: want 1 for %s only", restarts, victim.Name())
	}
	// The new incarnation works, on the same handle.
	if err := victim.Send(ctx, ws.TextMessage("after")); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, echoes); got != "after" {
		t.Fatalf("echo %q, want after", got)
	}
	if st := victim.Stats(); st.HandlerPanics != 1 || st.Connects != 2 {
		t.Fatalf("stats %+v, want 1 panic and 2 connects", st)
	}
}
