package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	var held []net.Listener
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	for _, l := range held {
		l.Close()
	}
	return ports
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type callResult struct {
	Status   int               `json:"status"`
	Header   map[string]string `json:"header"`
	Body     string            `json:"body"`
	Endpoint string            `json:"endpoint"`
	Attempts int               `json:"attempts"`
}

func postCall(t *testing.T, url, body string) callResult {
	t.Helper()
	code, body := post(t, url, body)
	var r callResult
	if err := json.Unmarshal([]byte(body), &r); code != 200 || err != nil {
		t.Fatalf("%d %s %v", code, body, err)
	}
	return r
}

// TestRemoteMessages runs three vsmnode processes. Node 3's pool "local"
// points at a loopback HTTP server; node 1 calls it through node 3's pool
// actor (the admin API's "member"), reads node 3's breaker by proto, and a
// request in flight to node 3 when it is killed errors at its deadline.
func TestRemoteMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds vsmnode and starts three")
	}
	bin := buildVsmnode(t)
	hanging := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			hanging <- struct{}{}
			<-r.Context().Done() // until n3 dies and its connection with it
		default:
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Up", "yes")
			fmt.Fprintf(w, "%s %s %s %s", r.Method, r.URL.RequestURI(), r.Header.Get("X-T"), b)
		}
	}))
	defer up.Close()
	upPort := up.Listener.Addr().(*net.TCPAddr).Port

	ports := freePorts(t, 9)
	var seeds, admins []string
	for i := range 3 {
		seeds = append(seeds, fmt.Sprintf("127.0.0.1:%d", ports[6+i]))
		admins = append(admins, fmt.Sprintf("http://127.0.0.1:%d", ports[i]))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var cmds []*exec.Cmd
	var exited []chan error
	for i := range 3 {
		cmd := exec.CommandContext(ctx, bin, "run")
		cmd.Env = append(os.Environ(),
			fmt.Sprintf("VSM_NODE_NAME=n%d", i+1), "VSM_ADMIN_ADDR="+strings.TrimPrefix(admins[i], "http://"),
			fmt.Sprintf("VSM_CLUSTER_PORT=%d", ports[3+i]), fmt.Sprintf("VSM_CLUSTER_GOSSIP_PORT=%d", ports[6+i]),
			"VSM_CLUSTER_SEEDS="+strings.Join(seeds, ","))
		if i == 2 {
			cmd.Env = append(cmd.Env, fmt.Sprintf("VSM_POOLS_LOCAL_PORT=%d", upPort))
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ch := make(chan error, 1)
		go func() { ch <- cmd.Wait() }()
		cmds, exited = append(cmds, cmd), append(exited, ch)
	}
	t.Cleanup(func() {
		for i, cmd := range cmds {
			_ = cmd.Process.Kill()
			<-exited[i]
		}
	})
	for _, a := range admins {
		waitMembers(t, strings.TrimPrefix(a, "http://"), []string{"n1", "n2", "n3"}, 30*time.Second)
	}

	// The same call, made on n3 and made from n1 through n3's pool actor.
	call := `{"method":"post","path":"/hello?x=1","header":{"X-T":"t1"},"body":"ping"}`
	local := postCall(t, admins[2]+"/api/v1/pools/local/request", call)
	remote := postCall(t, admins[0]+"/api/v1/pools/local/request", `{"member":"n3",`+call[1:])
	if remote.Status != 200 || remote.Body != "POST /hello?x=1 t1 ping" || remote.Header["X-Up"] != "yes" ||
		remote.Endpoint != fmt.Sprintf("127.0.0.1:%d", upPort) || remote.Attempts != 1 {
		t.Fatalf("remote %+v", remote)
	}
	if local.Status != remote.Status || local.Body != remote.Body || local.Endpoint != remote.Endpoint ||
		local.Attempts != remote.Attempts || local.Header["X-Up"] != remote.Header["X-Up"] {
		t.Fatalf("local %+v\nremote %+v", local, remote)
	}
	// n1's own pool "local" points at n1's admin API: without "member" the
	// call does not reach the upstream.
	if own := postCall(t, admins[0]+"/api/v1/pools/local/request", call); own.Status != 404 {
		t.Fatalf("n1's own pool: %+v", own)
	}
	if code, body := post(t, admins[0]+"/api/v1/pools/nope/request", `{"member":"n3","path":"/"}`); code != 404 || !strings.Contains(body, "no such actor") {
		t.Fatalf("pool missing on n3: %d %s", code, body)
	}
	if code, body := post(t, admins[0]+"/api/v1/pools/local/request", `{"member":"n9","path":"/"}`); code != 404 || !strings.Contains(body, "unknown member") {
		t.Fatalf("unknown member: %d %s", code, body)
	}

	// n3's breaker, opened there, read from n1 by proto.
	if code, body := post(t, admins[2]+"/api/v1/breakers/local/open", ""); code != 200 {
		t.Fatalf("open on n3: %d %s", code, body)
	}
	type stats struct {
		Name       string `json:"name"`
		State      string `json:"state"`
		Forced     bool   `json:"forced"`
		Calls      uint64 `json:"calls"`
		Successes  uint64 `json:"successes"`
		Generation uint64 `json:"generation"`
		LastReason string `json:"last_reason"`
	}
	readStats := func(url string) stats {
		t.Helper()
		code, body := get(t, url)
		var s stats
		if err := json.Unmarshal([]byte(body), &s); code != 200 || err != nil {
			t.Fatalf("%d %s %v", code, body, err)
		}
		return s
	}
	onN3 := readStats(admins[2] + "/api/v1/breakers/local")
	fromN1 := readStats(admins[0] + "/api/v1/cluster/members/n3/breakers/local")
	if fromN1 != onN3 || fromN1.Name != "local" || fromN1.State != "open" || !fromN1.Forced || fromN1.Calls != 2 || fromN1.Successes != 2 {
		t.Fatalf("from n1 %+v, on n3 %+v", fromN1, onN3)
	}
	if n2 := readStats(admins[0] + "/api/v1/cluster/members/n2/breakers/local"); n2.State != "closed" || n2.Calls != 0 {
		t.Fatalf("n2's breaker %+v", n2)
	}
	if code, body := get(t, admins[0]+"/api/v1/cluster/members/n3/breakers/nope"); code != 404 {
		t.Fatalf("missing breaker: %d %s", code, body)
	}
	if code, body := post(t, admins[2]+"/api/v1/breakers/local/close", ""); code != 200 {
		t.Fatalf("close on n3: %d %s", code, body)
	}

	// A request in flight when n3 is killed errors at its deadline.
	type answer struct {
		code int
		body string
		took time.Duration
	}
	done := make(chan answer, 1)
	start := time.Now()
	go func() {
		resp, err := http.Post(admins[0]+"/api/v1/pools/local/request", "application/json",
			strings.NewReader(`{"member":"n3","path":"/hang","timeout":"2s"}`))
		if err != nil {
			done <- answer{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- answer{resp.StatusCode, string(b), time.Since(start)}
	}()
	select {
	case <-hanging:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the upstream through n3")
	}
	if err := cmds[2].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-done:
		if a.code != http.StatusGatewayTimeout || !strings.Contains(a.body, "deadline exceeded") ||
			a.took < 2*time.Second || a.took > 5*time.Second {
			t.Fatalf("request to the killed member: %d after %s: %s", a.code, a.took, a.body)
		}
		t.Logf("request to the killed member: %d after %s", a.code, a.took.Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the request to the killed member hangs")
	}
	// Once the others have dropped it, n3 is an unknown member at once.
	waitMembers(t, strings.TrimPrefix(admins[0], "http://"), []string{"n1", "n2"}, 5*time.Second)
	t0 := time.Now()
	if code, body := post(t, admins[0]+"/api/v1/pools/local/request", `{"member":"n3","path":"/"}`); code != 404 ||
		!strings.Contains(body, "unknown member") || time.Since(t0) > time.Second {
		t.Fatalf("after the kill: %d %s after %s", code, body, time.Since(t0))
	}
}
