package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	goredis "github.com/redis/go-redis/v9"

	"github.com/viable-systems/vsm-connections/internal/redistest"
)

func TestTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	h := start(t, Spec{Name: "t", Kind: KindTCP, Probe: &TCPProbe{Address: addr}, UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	first := h.statuses(t, 1)
	_ = l.Close()
	wg.Wait()
	r, _ := h.step(t)
	if first[0] != "healthy" || r.Status != "unhealthy" || !strings.Contains(r.Err, "connection refused") {
		t.Fatalf("%v then %+v", first, r)
	}
}

// redisPinger adapts a go-redis client to Pinger, as a node would.
type redisPinger struct{ c *goredis.Client }

func (p redisPinger) Ping(ctx context.Context) error { return p.c.Ping(ctx).Err() }

func TestRedisPing(t *testing.T) {
	srv := redistest.Start(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	h := start(t, Spec{Name: "redis", Kind: KindRedis, Probe: PingProbe(redisPinger{c}), UnhealthyThreshold: 1, Critical: true}, Env{})
	h.clock.nextDelay(t)
	got := h.statuses(t, 1)
	srv.Kill()
	got = append(got, h.statuses(t, 1)...)
	srv.Restart()
	got = append(got, h.statuses(t, 1)...)
	if !reflect.DeepEqual(got, []string{"healthy", "unhealthy", "healthy"}) {
		t.Fatalf("%v", got)
	}
	if a := drain(h.rec.alerts); !reflect.DeepEqual(a, []string{"critical redis", "info redis"}) {
		t.Fatalf("alerts %v", a)
	}
}

// wsServer upgrades and, when answer is true, reads (gorilla answers pings
// with pongs while reading); otherwise it holds the connection silent. The
// connection is served in the handler, so the server's Close waits for it.
func wsServer(t *testing.T, answer bool) string {
	t.Helper()
	done := make(chan struct{})
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		if !answer {
			<-done
			return
		}
		_ = c.WriteMessage(websocket.TextMessage, []byte("hello")) // skipped by the probe
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	t.Cleanup(func() { close(done); srv.CloseClientConnections(); srv.Close() })
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestWebSocketPingPong(t *testing.T) {
	url := wsServer(t, true)
	h := start(t, Spec{Name: "ws", Kind: KindWebSocket, Probe: &WebSocketProbe{URL: url}, UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	if got := h.statuses(t, 2); !reflect.DeepEqual(got, []string{"healthy", "healthy"}) {
		last, _ := h.c.Status().Last()
		t.Fatalf("%v (%v)", got, last.Err)
	}
}

// A server that accepts the WebSocket but never answers the ping: the
// probe fails at the timeout.
func TestWebSocketNoPong(t *testing.T) {
	url := wsServer(t, false)
	h := start(t, Spec{Name: "ws", Kind: KindWebSocket, Probe: &WebSocketProbe{URL: url}, Timeout: 100 * time.Millisecond,
		UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	r, _ := h.step(t)
	last, _ := h.c.Status().Last()
	if r.Status != "unhealthy" || !errors.Is(last.Err, ErrTimeout) {
		t.Fatalf("%+v %v", r, last.Err)
	}
}

func TestWebSocketRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	p := &WebSocketProbe{URL: "ws://" + addr + "/"}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := p.Probe(ctx); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("%v", err)
	}
}
