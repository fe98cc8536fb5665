package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/vsmtest"
)

func poolServer(t *testing.T) (*vsm.Node, *httptest.Server, *vsmtest.MockService) {
	t.Helper()
	svc := vsmtest.NewMockService(t)
	host, port, _ := strings.Cut(svc.Addr(), ":")
	cfg, err := config.Parse("p.yaml", []byte(fmt.Sprintf("pools:\n  api:\n    host: %s\n    port: %s\n    size: 4\n  web:\n    endpoints: [%s]\n", host, port, svc.Addr())))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := vsm.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin.New(n, admin.WithRoutes(admin.PoolRoutes(n)...)))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return n, srv, svc
}

func TestPoolRoutes(t *testing.T) {
	n, srv, _ := poolServer(t)
	if _, err := n.Get(context.Background(), "api", "/x"); err != nil {
		t.Fatal(err)
	}

	code, body := do(t, "GET", srv.URL+"/api/v1/pools", "")
	var list []httppool.Stats
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
		t.Fatalf("%d %s %v", code, body, err)
	}
	if len(list) != 2 || list[0].Name != "api" || list[1].Name != "web" || list[0].Size != 4 || list[0].Requests.Success != 1 {
		t.Fatalf("list %s", body)
	}
	if !strings.Contains(body, `"name": "api"`) || !strings.Contains(body, `"in_use": 0`) {
		t.Fatalf("JSON field names: %s", body)
	}

	code, body = do(t, "GET", srv.URL+"/api/v1/pools/web", "")
	if code != 200 || !strings.Contains(body, `"name": "web"`) {
		t.Fatalf("%d %s", code, body)
	}
	if code, body = do(t, "GET", srv.URL+"/api/v1/pools/nope", ""); code != 404 || !strings.Contains(body, `"error"`) {
		t.Fatalf("%d %s", code, body)
	}

	code, body = do(t, "POST", srv.URL+"/api/v1/pools/api", `{"size": 15}`)
	var st httppool.Stats
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || st.Size != 15 || st.Name != "api" {
		t.Fatalf("resize: %d %s", code, body)
	}
	if p, _ := n.Pool("api"); p.Stats().Size != 15 {
		t.Fatal("not resized")
	}
	for _, bad := range []string{`{"size": 0}`, `{"size": -3}`, `{"size": "ten"}`, `{}`, `{"size": 5, "x": 1}`, `nope`, ``, `{"size": 1000001}`} {
		code, body := do(t, "POST", srv.URL+"/api/v1/pools/api", bad)
		if code != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
			t.Fatalf("%q: %d %s", bad, code, body)
		}
	}
	if code, _ := do(t, "POST", srv.URL+"/api/v1/pools/nope", `{"size": 3}`); code != 404 {
		t.Fatalf("unknown pool: %d", code)
	}
	if p, _ := n.Pool("api"); p.Stats().Size != 15 {
		t.Fatal("a refused resize changed the size")
	}
}

// The node makes a real call through a pool on the API's behalf.
func TestPoolRequestRoute(t *testing.T) {
	_, srv, svc := poolServer(t)
	svc.RespondTo("POST /hello", 201, "hi there", http.Header{"X-Up": {"yes"}})
	code, body := do(t, "POST", srv.URL+"/api/v1/pools/api/request", `{"method":"post","path":"/hello?x=1","body":"ping","header":{"X-Test":"1"}}`)
	var res admin.PoolCallResult
	if err := json.Unmarshal([]byte(body), &res); code != 200 || err != nil {
		t.Fatalf("%d %s %v", code, body, err)
	}
	if res.Status != 201 || res.Body != "hi there" || res.Header["X-Up"] != "yes" || res.Endpoint != svc.Addr() || res.Attempts != 1 {
		t.Fatalf("%+v", res)
	}
	last, _ := svc.LastRequest()
	if last.Method != "POST" || string(last.Body) != "ping" || last.Header.Get("X-Test") != "1" || last.RawQuery != "x=1" {
		t.Fatalf("sent %+v", last)
	}
	svc.Respond(503, "down", nil)
	code, body = do(t, "POST", srv.URL+"/api/v1/pools/web/request", `{"path":"/x"}`)
	if code != 200 || !strings.Contains(body, `"status": 503`) {
		t.Fatalf("%d %s", code, body)
	}
	for _, bad := range []string{`{"path":"http://evil/"}`, `{"path":"//evil/x"}`, `{"path":"x"}`, `{}`, `nope`} {
		if code, body := do(t, "POST", srv.URL+"/api/v1/pools/api/request", bad); code != 400 {
			t.Fatalf("%s: %d %s", bad, code, body)
		}
	}
	svc.Kill()
	if code, body := do(t, "POST", srv.URL+"/api/v1/pools/api/request", `{"path":"/x"}`); code != http.StatusBadGateway || !strings.Contains(body, "error") {
		t.Fatalf("dead upstream: %d %s", code, body)
	}
}
