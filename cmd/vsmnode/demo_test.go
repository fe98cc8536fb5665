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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/viable-systems/vsm-connections/event"
)

func TestPhases(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := phases{start: start, up: 2 * time.Second, down: time.Second}
	at := func(d time.Duration) time.Time { return start.Add(d) }
	for _, c := range []struct {
		at      time.Duration
		failing bool
		next    time.Duration
	}{
		{0, false, 2 * time.Second},
		{1999 * time.Millisecond, false, 2 * time.Second},
		{2 * time.Second, true, 3 * time.Second},
		{2500 * time.Millisecond, true, 3 * time.Second},
		{3 * time.Second, false, 5 * time.Second},
		{5 * time.Second, true, 6 * time.Second},
	} {
		if got := p.failing(at(c.at)); got != c.failing {
			t.Errorf("failing at %s = %v, want %v", c.at, got, c.failing)
		}
		if got := p.next(at(c.at)); !got.Equal(at(c.next)) {
			t.Errorf("next at %s = %s, want %s", c.at, got.Sub(start), c.next)
		}
	}
	// An offset brings the first failure forward and starts healthy.
	q := phases{start: start, up: 2 * time.Second, down: time.Second, offset: 1500 * time.Millisecond}
	if q.failing(at(0)) || !q.failing(at(500*time.Millisecond)) || q.failing(at(1500*time.Millisecond)) {
		t.Errorf("offset phases: %v %v %v", q.failing(at(0)), q.failing(at(500*time.Millisecond)), q.failing(at(1500*time.Millisecond)))
	}
	if got := q.next(at(0)); !got.Equal(at(500 * time.Millisecond)) {
		t.Errorf("offset next = %s", got.Sub(start))
	}
}

func TestDemoFlags(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--demo", "--config", "x.yaml"},
		{"run", "--demo", "--demo-up", "0s"},
		{"run", "--demo", "--demo-down", "-1s"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, nil, &out, &errb); code != 2 || errb.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errb.String())
		}
	}
}

// lineWriter sends each complete line written to it on a channel, dropping
// lines when no one reads (the test reads only the first few).
type lineWriter struct {
	mu    sync.Mutex
	buf   []byte
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case w.lines <- string(w.buf[:i]):
		default:
		}
		w.buf = w.buf[i+1:]
	}
}

type sse struct {
	kind string
	data []byte
}

// readEvents streams the admin API's events of the given kinds until the
// stream ends.
func readEvents(ctx context.Context, t *testing.T, client *http.Client, url string) <-chan sse {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	out := make(chan sse, 256)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = []byte(strings.TrimPrefix(line, "data: "))
			case line == "" && ev.kind != "":
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
				ev = sse{}
			}
		}
	}()
	return out
}

// TestDemo runs `vsmnode run --demo` in process with short phases and
// watches its event stream: every breaker trips, the HTTP one closes again
// once its service recovers, the breaker's alert reaches S5 and its rule
// acts, a Critical makes S5 shed the HTTP pool; then the demo stops on
// cancel with exit 0 (and goleak, in TestMain, finds nothing left).
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	stdout := &lineWriter{lines: make(chan string, 64)}
	var stderr bytes.Buffer
	var errMu sync.Mutex
	exit := make(chan int, 1)
	go func() {
		code := run(runCtx, []string{"run", "--demo", "--demo-up", "1s", "--demo-down", "2s", "--admin-addr", "127.0.0.1:0"},
			nil, stdout, writerFunc(func(p []byte) (int, error) { errMu.Lock(); defer errMu.Unlock(); return stderr.Write(p) }))
		exit <- code
	}()
	var url string
	for url == "" {
		select {
		case l := <-stdout.lines:
			if f := strings.Fields(l); len(f) == 2 && f[0] == "dashboard" {
				url = f[1]
			}
		case code := <-exit:
			errMu.Lock()
			t.Fatalf("demo exited %d before printing the dashboard URL: %s", code, stderr.String())
		case <-ctx.Done():
			t.Fatal("no dashboard URL on stdout")
		}
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/") {
		t.Fatalf("dashboard URL %q", url)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("<html")) {
		t.Fatalf("GET %s: %d, %d bytes", url, resp.StatusCode, len(page))
	}
	events := readEvents(ctx, t, client, url+"api/v1/events?kind=breaker.,alert.,policy.,health.changed,control.action")

	opened := map[string]bool{}            // breakers seen opening
	var httpStates []string                // the HTTP breaker's states, in order
	var alerted, ruled, shed bool          // the HTTP breaker's Warning reached S5; its rule logged it; a Critical shed the pool
	var unhealthy, s3opened, s3closed bool // S4 saw the HTTP service fail; S3 held the gRPC breaker open, then closed it
	done := func() bool {
		return len(opened) == 3 && alerted && ruled && shed && httpClosedAfterOpen(httpStates) &&
			unhealthy && s3opened && s3closed
	}
	for !done() {
		var ev sse
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("event stream ended")
			}
			ev = e
		case <-ctx.Done():
			t.Fatalf("timed out: opened %v, http states %v, alert %v, rule %v, shed %v, unhealthy %v, S3 opened %v closed %v",
				opened, httpStates, alerted, ruled, shed, unhealthy, s3opened, s3closed)
		}
		switch ev.kind {
		case "breaker.state_changed":
			var e event.BreakerStateChanged
			mustJSON(t, ev.data, &e)
			if e.To == "open" {
				opened[e.Name] = true
			}
			if e.Name == "s1/breaker/"+demoHTTPPool {
				if e.Forced {
					t.Fatalf("the HTTP breaker was forced: %+v", e)
				}
				// One chain of legal transitions, from closed: each
				// starts where the last ended.
				from := "closed"
				if n := len(httpStates); n > 0 {
					from = httpStates[n-1]
				}
				legal := map[string]string{"closed": "open", "open": "half_open"}[e.From] == e.To ||
					(e.From == "half_open" && (e.To == "open" || e.To == "closed"))
				if e.From != from || !legal {
					t.Fatalf("HTTP breaker %s -> %s after %v", e.From, e.To, httpStates)
				}
				httpStates = append(httpStates, e.To)
			}
		case "alert.raised":
			var e event.AlertRaised
			mustJSON(t, ev.data, &e)
			if e.Source == "s1/breaker/"+demoHTTPPool && e.Severity == "warning" && e.Reason == "breaker opened (failure_threshold)" {
				if e.Node != "demo" || e.Received.IsZero() || e.Received.Before(e.At) {
					t.Fatalf("alert %+v: want node demo, received by S5 after it was raised", e)
				}
				alerted = true
			}
		case "health.changed":
			var e event.HealthChanged
			mustJSON(t, ev.data, &e)
			if e.Check == demoHTTPPool && e.To == "unhealthy" {
				unhealthy = true
			}
		case "control.action":
			var e event.ControlAction
			mustJSON(t, ev.data, &e)
			if e.Target == "breaker/health-grpc" && e.Err == "" {
				switch {
				case e.Action == "open_breaker" && e.Reason != "":
					s3opened = true
				case e.Action == "close_breaker" && s3opened:
					s3closed = true
				}
			}
		case "policy.decided":
			var e event.PolicyDecided
			mustJSON(t, ev.data, &e)
			if e.Rule == "breaker-opened" && e.Alert.Source == "s1/breaker/"+demoHTTPPool && e.Action == "log" {
				if e.Outcome != "done" || e.Target != "warn" {
					t.Fatalf("breaker-opened decision %+v", e)
				}
				ruled = true
			}
			if e.Rule == "breaker-stuck" && e.Action == "shed_pool" && !shed {
				// The first shed halves the configured 8; later ones never
				// grow it back.
				if e.Outcome != "done" || e.Target != demoHTTPPool || e.Detail != "size 8 -> 4" {
					t.Fatalf("first shed decision %+v", e)
				}
				shed = true
			}
		}
	}

	stop()
	select {
	case code := <-exit:
		if code != 0 {
			errMu.Lock()
			t.Fatalf("demo exit %d, want 0: %s", code, stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("demo did not stop")
	}
	for range events { // ends with the admin API's streams
	}
	tr.CloseIdleConnections()
	// Services, traffic, node and admin API have all returned.
	goleak.VerifyNone(t)
	errMu.Lock()
	logs := stderr.String()
	errMu.Unlock()
	for _, want := range []string{`"msg":"node stopped"`, `"rule":"breaker-opened"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}

// httpClosedAfterOpen says whether the states went open and, later, closed.
func httpClosedAfterOpen(states []string) bool {
	for i, s := range states {
		if s == "open" {
			for _, later := range states[i+1:] {
				if later == "closed" {
					return true
				}
			}
			return false
		}
	}
	return false
}

// mustJSON decodes the event of an SSE data line ({"kind", "data"}) into v.
func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil || len(env.Data) == 0 {
		t.Fatalf("event %s: %v", b, err)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		t.Fatalf("event %s: %v", b, err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestDemoProcessStopsOnSIGINT runs the demo as a real process, as a
// newcomer would, and stops it with Ctrl-C's signal: the URL is printed,
// the dashboard answers, and the process exits 0.
func TestDemoProcessStopsOnSIGINT(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "run", "--demo", "--demo-up", "1s", "--demo-down", "2s", "--admin-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "VSMNODE_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		defer close(urls)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "dashboard" {
				urls <- f[1]
			}
		}
	}()
	var url string
	select {
	case url = <-urls:
	case <-ctx.Done():
	}
	if url == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("no dashboard URL: %s", stderr.String())
	}
	tr := &http.Transport{}
	resp, err := (&http.Client{Transport: tr}).Get(url + "api/v1/pools/" + demoHTTPPool)
	if err != nil {
		t.Fatal(err)
	}
	var pool struct {
		Protocol string `json:"protocol"`
	}
	err = json.NewDecoder(resp.Body).Decode(&pool)
	resp.Body.Close()
	tr.CloseIdleConnections()
	if err != nil || resp.StatusCode != 200 || pool.Protocol != "http" {
		t.Fatalf("GET pool %s: %d %+v %v", demoHTTPPool, resp.StatusCode, pool, err)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for range urls {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo exit after SIGINT: %v (want 0): %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), `"msg":"node stopped"`) {
		t.Fatalf("no 'node stopped' log line: %s", stderr.String())
	}
}
