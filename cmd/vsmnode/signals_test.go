package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// signalsConfig is the members' config: a shared breaker and no redis:
// section, so the breaker agrees over the cluster itself; the "dead" pool
// calls a closed port through it, to trip it.
const signalsConfig = `node:
  cluster: sig
cluster:
  host: 127.0.0.1 # ports and seeds from the environment
algedonic:
  publish_min: info
circuit_breakers:
  shared:
    failure_threshold: 1
    recovery_timeout: 1s
    coordination: shared
pools:
  dead:
    host: 127.0.0.1
    port: %d
    timeout: 1s
    circuit_breaker: shared
`

// members are vsmnode processes n1..nN of one cluster on loopback.
type members struct {
	t       *testing.T
	bin     string
	config  string
	admins  []string
	envs    [][]string
	kill    []func()
	ctx     context.Context
	names   []string
	running []bool
}

// startMembers builds vsmnode (without -race: protoactor's cluster code
// races) and runs n members n1..nN with config; it returns once each
// lists all of them.
func startMembers(t *testing.T, n int, config string) *members {
	t.Helper()
	if testing.Short() {
		t.Skip("builds vsmnode and starts several")
	}
	dir := t.TempDir()
	ms := &members{t: t, bin: buildVsmnode(t), config: filepath.Join(dir, "vsm.yaml")}
	if err := os.WriteFile(ms.config, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 3*n)
	var seeds []string
	for i := range n {
		seeds = append(seeds, fmt.Sprintf("127.0.0.1:%d", ports[2*n+i]))
		ms.names = append(ms.names, fmt.Sprintf("n%d", i+1))
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ms.ctx = ctx
	for i := range n {
		admin := fmt.Sprintf("127.0.0.1:%d", ports[i])
		ms.admins = append(ms.admins, admin)
		ms.envs = append(ms.envs, append(os.Environ(),
			"VSM_NODE_NAME="+ms.names[i], "VSM_ADMIN_ADDR="+admin,
			fmt.Sprintf("VSM_CLUSTER_PORT=%d", ports[n+i]), fmt.Sprintf("VSM_CLUSTER_GOSSIP_PORT=%d", ports[2*n+i]),
			"VSM_CLUSTER_SEEDS="+strings.Join(seeds, ",")))
		ms.kill = append(ms.kill, func() {})
		ms.running = append(ms.running, false)
		ms.start(i)
	}
	for _, a := range ms.admins {
		waitMembers(t, a, ms.names, 30*time.Second)
	}
	return ms
}

// start runs member i (again, after stop).
func (ms *members) start(i int) {
	t := ms.t
	t.Helper()
	cmd := exec.CommandContext(ms.ctx, ms.bin, "run", "--config", ms.config)
	cmd.Env = ms.envs[i]
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var once sync.Once
	ms.kill[i] = func() {
		once.Do(func() {
			_ = cmd.Process.Kill() // kill -9
			<-exited
			if t.Failed() {
				t.Logf("%s log:\n%s", ms.names[i], lastLines(logs.String(), 30))
			}
		})
	}
	t.Cleanup(ms.kill[i])
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

type breakerBody struct {
	State      string `json:"state"`
	Forced     bool   `json:"forced"`
	Held       bool   `json:"held"`
	LastReason string `json:"last_reason"`
}

func getBreaker(t *testing.T, admin, name string) breakerBody {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/api/v1/breakers/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b breakerBody
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

// waitBreaker polls admin's breaker until ok accepts it (no event reaches
// the test from another process).
func waitBreaker(t *testing.T, admin, name, what string, ok func(breakerBody) bool) breakerBody {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b := getBreaker(t, admin, name)
		if ok(b) {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: breaker %s is %+v, want %s", admin, name, b, what)
		}
		<-time.After(10 * time.Millisecond)
	}
}

type signalsBody struct {
	Signals struct {
		Leader         string `json:"leader"`
		AlertsSent     uint64 `json:"alerts_sent"`
		AlertsReceived uint64 `json:"alerts_received"`
		Leases         uint64 `json:"leases"`
	} `json:"signals"`
}

func getSignals(t *testing.T, admin string) signalsBody {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/api/v1/cluster")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b signalsBody
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

type alertEvent struct {
	Severity, Source, Reason, Node string
	At, Received                   time.Time
}

// alertStream reads node's alert.raised events (GET /api/v1/events SSE).
func alertStream(t *testing.T, ctx context.Context, admin string) <-chan alertEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+admin+"/api/v1/events?kind=alert.raised", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(resp.Body)
	if line, _ := r.ReadString('\n'); line != ": connected\n" {
		t.Fatalf("first line %q", line)
	}
	out := make(chan alertEvent, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				continue
			}
			var env struct {
				Data alertEvent `json:"data"`
			}
			if json.Unmarshal([]byte(data), &env) == nil {
				out <- env.Data
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close(); <-done })
	return out
}

// TestClusterSignals is the 3-node scenario for signals, with real
// vsmnode processes and no Redis: an alert raised on n3 (POST
// /api/v1/alerts) reaches n1's S5 (its alert.raised event, origin n3);
// a breaker opened by hand on n1 is open (forced) on n3, and closed on n3
// it closes on n1; tripped on n1, exactly one member probes after the
// recovery timeout while the others hold it open. It logs the alert's
// raise-to-S5 time across nodes over N alerts (p50, p99).
func TestClusterSignals(t *testing.T) {
	dead := freePorts(t, 1)[0]
	ms := startMembers(t, 3, fmt.Sprintf(signalsConfig, dead))
	admins := ms.admins
	n1, n3 := admins[0], admins[2]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Alerts: n3 -> n1's S5.
	events := alertStream(t, ctx, n1)
	if code, _ := post(t, "http://"+n3+"/api/v1/alerts", `{"severity":"critical","source":"ops","reason":"from n3"}`); code != http.StatusAccepted {
		t.Fatalf("POST /api/v1/alerts on n3: %d", code)
	}
	select {
	case ev := <-events:
		if ev.Node != "n3" || ev.Severity != "critical" || ev.Source != "ops" || ev.Reason != "from n3" {
			t.Fatalf("n1's S5 got %+v, want n3's critical alert", ev)
		}
	case <-ctx.Done():
		t.Fatal("n1's S5 did not get n3's alert")
	}
	const N = 200
	var lat []time.Duration
	for i := range N {
		post(t, "http://"+n3+"/api/v1/alerts", fmt.Sprintf(`{"severity":"warning","source":"bench","reason":"a%d"}`, i))
		select {
		case ev := <-events:
			if ev.Reason != fmt.Sprintf("a%d", i) || ev.Node != "n3" {
				t.Fatalf("alert %d: got %+v", i, ev)
			}
			lat = append(lat, ev.Received.Sub(ev.At))
		case <-ctx.Done():
			t.Fatalf("alert %d did not reach n1", i)
		}
	}
	slices.Sort(lat)
	t.Logf("alert raise (n3) to S5 (n1) over %d alerts: p50 %s p99 %s max %s", N,
		lat[N/2], lat[N*99/100], lat[N-1])
	if s := getSignals(t, n1).Signals; s.AlertsReceived != N+1 || s.AlertsSent != 0 {
		t.Fatalf("n1's signals %+v, want %d received and none sent on", s, N+1)
	}
	if s := getSignals(t, n3).Signals; s.AlertsSent != 2*(N+1) {
		t.Fatalf("n3's signals %+v, want %d sent (one per member)", s, 2*(N+1))
	}

	// Breakers: manual open on n1 is a manual open on n3; close on n3
	// closes n1.
	if code, _ := post(t, "http://"+n1+"/api/v1/breakers/shared/open", ""); code != 200 {
		t.Fatalf("open on n1: %d", code)
	}
	waitBreaker(t, n3, "shared", "open by hand", func(b breakerBody) bool {
		return b.State == "open" && b.Forced && b.LastReason == "manual_open"
	})
	if code, _ := post(t, "http://"+n3+"/api/v1/breakers/shared/close", ""); code != 200 {
		t.Fatalf("close on n3: %d", code)
	}
	waitBreaker(t, n1, "shared", "closed", func(b breakerBody) bool { return b.State == "closed" })

	// A trip on n1 (a call to the closed port): held open on the others,
	// then one prober.
	post(t, "http://"+n1+"/api/v1/pools/dead/request", `{"path":"/"}`)
	for _, a := range admins[1:] {
		waitBreaker(t, a, "shared", "held open for the cluster", func(b breakerBody) bool {
			return b.State == "open" && b.Held && !b.Forced && b.LastReason == "cluster_open"
		})
	}
	prober := -1
	deadline := time.Now().Add(15 * time.Second)
	for prober < 0 {
		for i, a := range admins {
			if getBreaker(t, a, "shared").State == "half_open" {
				prober = i
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no member probes after the recovery timeout")
		}
	}
	for i, a := range admins {
		if b := getBreaker(t, a, "shared"); i != prober && (b.State != "open" || !b.Held) {
			t.Fatalf("n%d while n%d probes: %+v, want held open", i+1, prober+1, b)
		}
	}
	if s := getSignals(t, n1).Signals; s.Leader != "n1" || s.Leases < 1 {
		t.Fatalf("leader n1's signals %+v, want leader n1 and a lease granted", s)
	}
	t.Logf("n%d probes; the others hold the breaker open", prober+1)

	// The leader n1 is killed while the breaker is open by hand, and
	// restarted: it leads again and takes the cluster's state over (its
	// own is empty), rather than the others following its closed breaker.
	if code, _ := post(t, "http://"+n3+"/api/v1/breakers/shared/open", ""); code != 200 {
		t.Fatalf("open on n3: %d", code)
	}
	waitBreaker(t, n1, "shared", "open by hand", func(b breakerBody) bool { return b.Forced })
	ms.kill[0]()
	waitMembers(t, admins[1], ms.names[1:], 10*time.Second)
	if l := getSignals(t, admins[1]).Signals.Leader; l != "n2" {
		t.Fatalf("leader without n1: %q, want n2", l)
	}
	ms.start(0)
	for _, a := range admins {
		waitMembers(t, a, ms.names, 30*time.Second)
	}
	waitBreaker(t, n1, "shared", "the cluster's manual open after the restart", func(b breakerBody) bool {
		return b.State == "open" && b.Forced
	})
	// And its next decision is numbered past the old ones: a close on n1
	// closes the others.
	if code, _ := post(t, "http://"+n1+"/api/v1/breakers/shared/close", ""); code != 200 {
		t.Fatalf("close on n1: %d", code)
	}
	for _, a := range admins[1:] {
		waitBreaker(t, a, "shared", "closed by n1", func(b breakerBody) bool { return b.State == "closed" })
	}
}
