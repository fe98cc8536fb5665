package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/viable-systems/vsm-connections/config"
)

// TestMain doubles as the vsmnode binary when VSMNODE_TEST_MAIN is set, so
// process-level tests run the real main without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("VSMNODE_TEST_MAIN") == "1" {
		main()
		return
	}
	dir, err := os.MkdirTemp("", "vsmnode-test-")
	if err != nil {
		panic(err)
	}
	build.bin = filepath.Join(dir, "vsmnode")
	// goleak.VerifyTestMain exits; remove the build first.
	goleak.VerifyTestMain(exitHook{m, func() { os.RemoveAll(dir) }})
}

// exitHook runs done after the tests, before goleak's verdict.
type exitHook struct {
	m    *testing.M
	done func()
}

func (h exitHook) Run() int { code := h.m.Run(); h.done(); return code }

// build is one vsmnode binary for every multi-process test, built once,
// without -race (protoactor's cluster code races; the -race test binary
// drives the processes).
var build struct {
	once sync.Once
	bin  string
	err  error
	out  []byte
}

// buildVsmnode returns the path of that binary, building it on first use.
func buildVsmnode(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.out, build.err = exec.Command("go", "build", "-o", build.bin, ".").CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("go build: %v\n%s", build.err, build.out)
	}
	return build.bin
}

func TestVersionAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"version"}, nil, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "vsmnode ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	if code := run(context.Background(), nil, nil, &out, &errb); code != 2 {
		t.Fatalf("no args: exit %d, want 2", code)
	}
	errb.Reset()
	if code := run(context.Background(), []string{"frobnicate"}, nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %d %q", code, errb.String())
	}
	if code := run(context.Background(), []string{"run", "--no-such-flag"}, nil, &out, &errb); code != 2 {
		t.Fatalf("bad flag: exit %d, want 2", code)
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("node:\n  name: n1\n"), 0o600)
	os.WriteFile(bad, []byte("node:\n  name: n1\n  colour: blue\n"), 0o600)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"config", "check", good}, nil, &out, &errb); code != 0 {
		t.Fatalf("good config: exit %d: %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"config", "check", bad}, nil, &out, &errb); code != 2 {
		t.Fatalf("bad config: exit %d, want 2", code)
	}
	if msg := errb.String(); !strings.Contains(msg, "bad.yaml:3") || !strings.Contains(msg, "colour") {
		t.Fatalf("error %q does not name file, line and key", msg)
	}
	errb.Reset()
	if code := run(context.Background(), []string{"run", "--config", bad}, nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "bad.yaml:3") {
		t.Fatalf("run with bad config: %d %q", code, errb.String())
	}
}

// TestDaemonServesAndStopsOnSIGTERM runs vsmnode as a real process with the
// embedded default config, talks to its admin API and stops it with SIGTERM.
func TestDaemonServesAndStopsOnSIGTERM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "run", "--admin-addr", "127.0.0.1:0")
	// The environment names the node, as a container would.
	cmd.Env = append(os.Environ(), "VSMNODE_TEST_MAIN=1", "VSM_NODE_NAME=env-named", "VSM_NODE_NAMEE=typo")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan map[string]any, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
	}()
	var addr string
	var sawSummary, sawWarning bool
	for addr == "" || !sawSummary || !sawWarning {
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatal("vsmnode exited before listening")
			}
			if m["msg"] == "environment variable ignored" && m["variable"] == "VSM_NODE_NAMEE" {
				sawWarning = m["level"] == "warn" && m["reason"] == "names no key; ignored; did you mean VSM_NODE_NAME?"
				if !sawWarning {
					t.Fatalf("warning line %v", m)
				}
			}
			if m["msg"] == "admin API listening" {
				addr, _ = m["addr"].(string)
			}
			if msg, _ := m["msg"].(string); strings.HasPrefix(msg, "node running: ") {
				sawSummary = true
				// default.yaml's one health check (admin) runs.
				if want := "node running: 1 pools, 1 circuit breakers, 1 health checks, in-process state (no redis)"; msg != want {
					t.Errorf("summary %q, want %q", msg, want)
				}
				if m["node"] != "env-named" {
					t.Errorf("node %v, want the name from VSM_NODE_NAME", m["node"])
				}
			}
		case <-ctx.Done():
			t.Fatal("no 'admin API listening' log line")
		}
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
	for _, probe := range []string{"/livez", "/readyz"} {
		resp, err := http.Get("http://" + addr + probe)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "ok" {
			t.Fatalf("%s = %d %q", probe, resp.StatusCode, b)
		}
	}
	// The health endpoints serve S4's checkers (the default config has one).
	resp, err = http.Get("http://" + addr + "/api/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	var checks []struct {
		Name string `json:"name"`
	}
	err = json.NewDecoder(resp.Body).Decode(&checks)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(checks) != 1 || checks[0].Name != "admin" {
		t.Fatalf("GET /api/v1/health = %d %+v %v, want the default config's check \"admin\"", resp.StatusCode, checks, err)
	}
	// The embedded default's "local" pool calls the node's own admin API,
	// wherever --admin-addr put it: a real HTTP call through a pool.
	resp, err = http.Post("http://"+addr+"/api/v1/pools/local/request", "application/json", strings.NewReader(`{"path":"/healthz"}`))
	if err != nil {
		t.Fatal(err)
	}
	var call struct {
		Status   int    `json:"status"`
		Body     string `json:"body"`
		Endpoint string `json:"endpoint"`
	}
	err = json.NewDecoder(resp.Body).Decode(&call)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || call.Status != 200 || !strings.Contains(call.Body, `"ok"`) || call.Endpoint != addr {
		t.Fatalf("call through the local pool: %d %+v %v (admin at %s)", resp.StatusCode, call, err, addr)
	}
	resp, err = http.Post("http://"+addr+"/api/v1/alerts", "application/json", strings.NewReader(`{"severity":"critical","source":"test","reason":"process alert"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("alert = %d", resp.StatusCode)
	}
	// S5 logs the critical alert (log_min defaults to warning).
	for logged := false; !logged; {
		select {
		case m := <-lines:
			logged = m["msg"] == "algedonic alert" && m["reason"] == "process alert"
		case <-ctx.Done():
			t.Fatal("S5 never logged the alert")
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("vsmnode exit after SIGTERM: %v (want status 0)", err)
	}
}

// The start-up line counts the health checks that run, not the config's
// entries: custom checks registered in code count too.
func TestSummaryCountsRunningChecks(t *testing.T) {
	c := config.Default()
	c.HealthChecks = map[string]config.HealthCheck{"a": {}, "b": {}}
	if got, want := summary(c, 3), "0 pools, 0 circuit breakers, 3 health checks, in-process state (no redis)"; got != want {
		t.Fatalf("summary = %q, want %q", got, want)
	}
}
