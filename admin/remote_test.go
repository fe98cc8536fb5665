package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/config"
)

// fakeRemote answers by member name.
type fakeRemote struct {
	mu    sync.Mutex
	calls []string
	dl    time.Duration
}

func (f *fakeRemote) PoolRequest(ctx context.Context, member, pool string, req *httppool.DoRequest) (*httppool.Response, error) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("%s %s %s %s %s %s", member, pool, req.Method, req.URL, req.Header.Get("X-T"), req.Body))
	if dl, ok := ctx.Deadline(); ok {
		f.dl = time.Until(dl)
	}
	f.mu.Unlock()
	switch member {
	case "n3":
		return &httppool.Response{Status: 201, Body: []byte("from n3"), Endpoint: "127.0.0.1:1", Attempts: 1,
			Header: http.Header{"X-From": {"n3"}}}, nil
	case "status":
		return nil, &httppool.StatusError{Pool: pool, Response: &httppool.Response{Status: 503, Body: []byte("down")}}
	case "dead":
		<-ctx.Done()
		return nil, fmt.Errorf("no reply: %w", ctx.Err())
	}
	return nil, fmt.Errorf("no member %q: %w", member, admin.ErrNotFound)
}

func remoteServer(t *testing.T, rp admin.RemotePools) *httptest.Server {
	t.Helper()
	cfg, err := config.Parse("p.yaml", []byte("pools:\n  api:\n    host: 127.0.0.1\n    port: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := vsm.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var opts []admin.PoolOption
	if rp != nil {
		opts = append(opts, admin.WithRemotePools(rp))
	}
	srv := httptest.NewServer(admin.New(n, admin.WithRoutes(admin.PoolRoutes(n, opts...)...)))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return srv
}

// "member" sends the call to RemotePools, for a pool this node may not
// have; the answers map to 200, 404, 504 and 400.
func TestPoolRequestMember(t *testing.T) {
	rp := &fakeRemote{}
	srv := remoteServer(t, rp)
	url := srv.URL + "/api/v1/pools/onlythere/request"

	code, body := do(t, "POST", url, `{"member":"n3","method":"post","path":"/v?x=1","header":{"X-T":"1"},"body":"ping"}`)
	var res admin.PoolCallResult
	if err := json.Unmarshal([]byte(body), &res); code != 200 || err != nil || res.Status != 201 || res.Body != "from n3" ||
		res.Header["X-From"] != "n3" || res.Endpoint != "127.0.0.1:1" || res.Attempts != 1 {
		t.Fatalf("%d %s %v", code, body, err)
	}
	if got := strings.Join(rp.calls, "|"); got != "n3 onlythere POST /v?x=1 1 ping" {
		t.Fatalf("calls %q", got)
	}
	if rp.dl <= admin.DefaultRemoteTimeout-time.Second || rp.dl > admin.DefaultRemoteTimeout {
		t.Fatalf("default deadline %s", rp.dl)
	}
	// A status failure is shown as the reply, as locally.
	if code, body := do(t, "POST", url, `{"member":"status","path":"/"}`); code != 200 || !strings.Contains(body, `"status": 503`) {
		t.Fatalf("status: %d %s", code, body)
	}
	if code, body := do(t, "POST", url, `{"member":"nobody","path":"/"}`); code != 404 || !strings.Contains(body, `no member \"nobody\"`) {
		t.Fatalf("unknown member: %d %s", code, body)
	}
	start := time.Now()
	if code, body := do(t, "POST", url, `{"member":"dead","path":"/","timeout":"150ms"}`); code != http.StatusGatewayTimeout ||
		!strings.Contains(body, "deadline exceeded") {
		t.Fatalf("dead member: %d %s", code, body)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > 5*time.Second {
		t.Fatalf("dead member answered after %s", took)
	}
	for _, bad := range []string{`{"member":"n3","path":"/","timeout":"soon"}`, `{"member":"n3","path":"/","timeout":"2h"}`,
		`{"member":"n3","path":"http://elsewhere/"}`} {
		if code, body := do(t, "POST", url, bad); code != 400 {
			t.Fatalf("%s: %d %s", bad, code, body)
		}
	}
	if len(rp.calls) != 4 {
		t.Fatalf("calls %q", rp.calls)
	}
}

// Without WithRemotePools "member" is refused, not run locally.
func TestPoolRequestMemberAlone(t *testing.T) {
	srv := remoteServer(t, nil)
	code, body := do(t, "POST", srv.URL+"/api/v1/pools/api/request", `{"member":"n3","path":"/"}`)
	if code != 400 || !strings.Contains(body, "needs a cluster") {
		t.Fatalf("%d %s", code, body)
	}
}
