package dashboardtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/health"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/vsmtest"
)

// within is how fast the page must show a change (the bound).
const within = 2 * time.Second

// chromium finds Debian's chromium (or another Chrome) on PATH. Without
// one the test skips, except under CI=true, where a missing browser would
// hide a broken dashboard.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH under CI=true: apt-get install -y chromium (scripts/test does)")
	}
	t.Skip("no chromium on PATH: apt-get install -y chromium to run the dashboard test")
	return ""
}

// fixture is a node whose dashboard has something to show: two upstreams
// behind pools and breakers, two health checks in S4, and the admin API.
type fixture struct {
	node     *vsm.Node
	url      string
	payments *vsmtest.MockService // made to fail
	stock    *vsmtest.MockService // fails for the screenshot's half-open tile
	search   *vsmtest.MockService // healthy, with a retried failure now and then
	apiUp    atomic.Bool          // the "payments-api" check's verdict
}

// wsEcho is a WebSocket echo server on loopback; it returns host:port.
func wsEcho(t *testing.T) string {
	t.Helper()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, b, err := c.ReadMessage()
			if err != nil || c.WriteMessage(mt, b) != nil {
				return
			}
		}
	}))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return strings.TrimPrefix(srv.URL, "http://")
}

func start(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{payments: vsmtest.NewMockService(t), search: vsmtest.NewMockService(t), stock: vsmtest.NewMockService(t)}
	f.apiUp.Store(true)
	feed := wsEcho(t)
	yaml := fmt.Sprintf(`
node:
  name: edge-1
circuit_breakers:
  payments:
    failure_threshold: 3
    recovery_timeout: 45s
  search:
    mode: rate
    failure_rate: 50
    minimum_calls: 20
  inventory:
    failure_threshold: 2
    recovery_timeout: 1s
pools:
  payments:
    endpoints: [%s]
    size: 8
    circuit_breaker: payments
  search:
    endpoints: [%s]
    size: 16
    circuit_breaker: search
  inventory:
    endpoints: [%s]
    size: 4
    circuit_breaker: inventory
  feed:
    protocol: websocket
    endpoints: [%s]
    size: 2
`, f.payments.Addr(), f.search.Addr(), f.stock.Addr(), feed)
	cfg, err := config.Parse("dashboard.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := vsm.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.node = n
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Error(err)
		}
	})

	// S4's own registry (the node's health_checks live there too), with
	// checks whose verdict the test controls.
	reg := n.Health()
	probe := func(up *atomic.Bool, what string) health.ProbeFunc {
		return func(context.Context) error {
			if up != nil && !up.Load() {
				return fmt.Errorf("%s: connection refused", what)
			}
			return nil
		}
	}
	for _, spec := range []health.Spec{
		{Name: "payments-api", Kind: health.KindCustom, Target: f.payments.Addr(), Probe: probe(&f.apiUp, f.payments.Addr()),
			Interval: 100 * time.Millisecond, Jitter: -1, InitialJitter: -1, UnhealthyThreshold: 2, Critical: true},
		{Name: "search-api", Kind: health.KindCustom, Target: f.search.Addr(), Probe: probe(nil, ""),
			Interval: 200 * time.Millisecond, Jitter: -1, InitialJitter: -1},
		// Probed once at start, then only when asked (Check now).
		{Name: "ledger", Kind: health.KindCustom, Probe: probe(nil, ""), Interval: time.Hour, Jitter: -1, InitialJitter: -1},
	} {
		if err := reg.Start(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}

	// A user actor that panics on "crash", to show a restart in the tree.
	if _, err := n.Spawn(ctx, "flaky", actor.PropsFromFunc(func(c actor.Context) {
		if c.Message() == "crash" {
			panic("crash requested by the test")
		}
	})); err != nil {
		t.Fatal(err)
	}

	api := admin.New(n,
		admin.WithRoutes(admin.BreakerRoutes(n)...),
		admin.WithRoutes(admin.PoolRoutes(n)...),
		admin.WithRoutes(admin.HealthRoutes(reg)...))
	srv := httptest.NewServer(api) // 127.0.0.1
	t.Cleanup(func() { api.Close(); srv.Close() })
	f.url = srv.URL + "/"
	return f
}

// traffic calls the search pool until ctx ends: one call in ten fails its
// first attempt and is retried, so the tile shows effective vs actual
// success.
func (f *fixture) traffic(ctx context.Context) {
	pool, ok := f.node.Pool("search")
	if !ok {
		panic("no search pool")
	}
	for i := 0; ctx.Err() == nil; i++ {
		if i%10 == 0 {
			f.search.FailNext(1, 503)
		}
		_, _ = pool.Do(ctx, httppool.Request{URL: "/q", Retry: []fault.Option{
			fault.MaxAttempts(3), fault.BaseDelay(time.Millisecond), fault.WithJitter(fault.NoJitter)}})
		select {
		case <-ctx.Done():
		case <-time.After(15 * time.Millisecond): // pacing, not waiting for a result
		}
	}
}

// browser starts headless Chromium and collects what the page writes to
// its console.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T, exe string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in a container
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1120),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 40*time.Second)
	b := &browser{ctx: ctx}
	done := make(chan struct{})
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
		<-done
	})
	// Subscribed before the first navigation, so nothing is missed.
	msgs := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	return b
}

func (b *browser) errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.messages {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			out = append(out, m.String())
		}
	}
	return out
}

// waitJS waits, at most d, until expr is true in the page, and returns how
// long that took.
func (b *browser) waitJS(t *testing.T, what, expr string, d time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(d))); err != nil {
		state, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main').innerText.slice(0, 2000)`))
		t.Fatalf("%s: not within %v: %v\npage:\n%s", what, d, err, state)
	}
	return time.Since(begin)
}

func tileState(name string) string {
	return fmt.Sprintf(`(document.querySelector('[data-breaker=%q]') || {dataset: {}}).dataset.state`, name)
}

func checkStatus(name string) string {
	return fmt.Sprintf(`(document.querySelector('[data-check=%q]') || {dataset: {}}).dataset.status`, name)
}

func TestDashboardInChromium(t *testing.T) {
	exe := chromium(t)
	f := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	b := newBrowser(t, exe)

	// Some traffic before the page opens, so the tiles have rates.
	tctx, stopTraffic := context.WithCancel(ctx)
	trafficDone := make(chan struct{})
	go func() { defer close(trafficDone); f.traffic(tctx) }()
	defer func() { stopTraffic(); <-trafficDone }()
	for range 5 {
		if _, err := f.node.Get(ctx, "payments", "/charge"); err != nil {
			t.Fatal(err)
		}
	}

	if err := chromedp.Do(b.ctx, chromedp.Navigate(f.url)); err != nil {
		t.Fatal(err)
	}

	// The tree: S1–S5 and the units of S1, S4's checkers.
	b.waitJS(t, "tree", `!!document.querySelector('#tree li[data-actor="s1/breaker/payments"]')`, 5*time.Second)
	actors, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#tree li[data-actor]')].map(e => e.dataset.actor)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"", "s1", "s2", "s3", "s4", "s5", "s1/pool/payments", "s1/breaker/payments",
		"s1/pool/search", "s4/check/payments-api", "s5/policy"} {
		if !slices.Contains(actors, want) {
			t.Fatalf("tree on the page lacks %q: %q", want, actors)
		}
	}
	text, err := chromedp.Run(b.ctx, chromedp.Text(`#tree`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "one-for-one · 0/3 in 5s") || !strings.Contains(text, "↻ 0/3") || !strings.Contains(text, "mbox 0") {
		t.Fatalf("tree shows no intensity or mailbox depth:\n%s", text)
	}
	// A restart shows against the supervisor's intensity.
	flaky, ok := f.node.Lookup("user/flaky")
	if !ok {
		t.Fatal("no user/flaky")
	}
	f.node.Root().Send(flaky, "crash")
	b.waitJS(t, "restart in the tree", `(() => {
		const li = document.querySelector('#tree li[data-actor="user/flaky"]');
		const sup = document.querySelector('#tree li[data-actor="user"] > .node');
		return li && li.textContent.includes('↻ 1/3') && sup && sup.textContent.includes('1/3 in 5s');
	})()`, within)
	b.waitJS(t, "payments tile closed", tileState("payments")+` === 'closed'`, 5*time.Second)
	b.waitJS(t, "search check healthy", checkStatus("search-api")+` === 'healthy'`, 5*time.Second)
	b.waitJS(t, "payments check healthy", checkStatus("payments-api")+` === 'healthy'`, 5*time.Second)

	// The upstream starts failing: three failed calls open the breaker, and
	// the tile turns open within 2 s of the first failure.
	f.payments.FailNext(1000, 503)
	failing := time.Now()
	for i := range 3 {
		if _, err := f.node.Get(ctx, "payments", "/charge"); err == nil {
			t.Fatalf("call %d through a failing upstream succeeded", i)
		}
	}
	brk, _ := f.node.Breaker("payments")
	if st := brk.Stats().State; st != breaker.Open {
		t.Fatalf("breaker is %v after 3 failures", st)
	}
	b.waitJS(t, "payments tile open", tileState("payments")+` === 'open'`, within-time.Since(failing))
	t.Logf("breaker open on the page %v after the upstream started failing", time.Since(failing).Round(time.Millisecond))
	if _, err := f.node.Get(ctx, "payments", "/charge"); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("call through an open breaker: %v", err)
	}
	b.waitJS(t, "countdown to half-open", `/half-open in \d+s/.test(document.querySelector('[data-breaker="payments"] .countdown').textContent)`, within)

	// A click on Reset closes it, on the node and on the page.
	clicked := time.Now()
	if err := chromedp.Do(b.ctx, chromedp.Click(`[data-breaker="payments"] button[data-cmd="reset"]`)); err != nil {
		t.Fatal(err)
	}
	b.waitJS(t, "payments tile closed after reset", tileState("payments")+` === 'closed'`, within)
	if st := brk.Stats(); st.State != breaker.Closed || st.Calls != 0 {
		t.Fatalf("after reset on the page the breaker is %v with %d calls, want closed and 0", st.State, st.Calls)
	}
	t.Logf("reset shown closed %v after the click", time.Since(clicked).Round(time.Millisecond))

	// Open forces it open (no countdown: it waits for a hand), Close closes it.
	if err := chromedp.Do(b.ctx, chromedp.Click(`[data-breaker="payments"] button[data-cmd="open"]`)); err != nil {
		t.Fatal(err)
	}
	b.waitJS(t, "payments forced open", tileState("payments")+` === 'open' &&
		document.querySelector('[data-breaker="payments"] .countdown').textContent === 'forced open'`, within)
	if st := brk.Stats(); st.State != breaker.Open || !st.Forced {
		t.Fatalf("after Open on the page: %v forced=%v", st.State, st.Forced)
	}
	if err := chromedp.Do(b.ctx, chromedp.Click(`[data-breaker="payments"] button[data-cmd="close"]`)); err != nil {
		t.Fatal(err)
	}
	b.waitJS(t, "payments closed by Close", tileState("payments")+` === 'closed'`, within)

	// Resize from the page goes through the pool actor.
	if err := chromedp.Do(b.ctx,
		chromedp.SetValue(`input[data-pool="payments"]`, "12"),
		chromedp.Click(`button[data-resize="payments"]`),
	); err != nil {
		t.Fatal(err)
	}
	b.waitJS(t, "payments pool resized", `[...document.querySelectorAll('[data-pool-row="payments"] td')].some(td => td.textContent === '0/12')`, within)
	if p, _ := f.node.Pool("payments"); p.Stats().Size != 12 {
		t.Fatalf("pool size %d after a resize to 12 on the page", p.Stats().Size)
	}
	// A WebSocket pool shows its open connections, and no resize control.
	b.waitJS(t, "feed pool connections", `[...document.querySelectorAll('[data-pool-row="feed"] td')].some(td => td.textContent === '2/2 open')`, within)
	if shown, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](
		`document.querySelector('button[data-resize="feed"]').style.display !== 'none'`)); err != nil || shown {
		t.Fatalf("resize button shown on a WebSocket pool (%v)", err)
	}

	// Check now runs a probe: a second result for a check probed hourly.
	b.waitJS(t, "ledger probed once", `document.querySelectorAll('[data-check="ledger"] .spark i').length === 1`, 5*time.Second)
	if err := chromedp.Do(b.ctx, chromedp.Click(`button[data-check-now="ledger"]`)); err != nil {
		t.Fatal(err)
	}
	b.waitJS(t, "ledger probed on demand", `document.querySelectorAll('[data-check="ledger"] .spark i').length === 2`, within)

	// A health check that flips shows within 2 s (two failures at 100 ms).
	f.apiUp.Store(false)
	flipped := time.Now()
	b.waitJS(t, "payments-api unhealthy", checkStatus("payments-api")+` === 'unhealthy'`, within)
	t.Logf("health flip shown %v after the target failed", time.Since(flipped).Round(time.Millisecond))
	// It is critical: the alert reaches the feed, with its time to S5.
	b.waitJS(t, "critical alert in the feed", `[...document.querySelectorAll('#feed tbody tr')].some(r =>
		r.textContent.includes('critical') && r.textContent.includes('s4/check/payments-api'))`, within)

	if path := os.Getenv("VSM_SCREENSHOT"); path != "" {
		f.screenshot(t, b, path)
	}
	// A node with nothing configured and no health routes, as vsmnode
	// mounts the API today: every panel says it is empty, with no error.
	bare := startBare(t)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(bare)); err != nil {
		t.Fatal(err)
	}
	b.waitJS(t, "empty panels", `(() => {
		const t = id => document.getElementById(id).textContent.trim();
		return document.querySelector('#tree li[data-actor="s5/policy"]') &&
			t('tiles') === 'no circuit breakers' && t('pools') === 'no pools' && t('health') === 'no health checks';
	})()`, 5*time.Second)

	if errs := b.errors(); len(errs) > 0 {
		t.Fatalf("console errors on the page:\n%s", strings.Join(errs, "\n"))
	}
}

// screenshot puts the page in a telling state (one upstream open and
// counting down, one busy with retries, a check down) and writes a PNG.
func (f *fixture) screenshot(t *testing.T, b *browser, path string) {
	t.Helper()
	ctx := b.ctx
	for range 3 {
		_, _ = f.node.Get(ctx, "payments", "/charge")
	}
	b.waitJS(t, "payments open again", tileState("payments")+` === 'open'`, within)
	// inventory trips, and after its 1 s recovery timeout is half-open.
	f.stock.FailNext(2, 500)
	for range 2 {
		_, _ = f.node.Request(ctx, httppool.Request{Pool: "inventory", URL: "/items", Retry: []fault.Option{fault.MaxAttempts(1)}})
	}
	b.waitJS(t, "inventory half-open", tileState("inventory")+` === 'half_open'`, 5*time.Second)
	// Rates and the sparkline need a few one-second samples.
	b.waitJS(t, "samples", `document.querySelectorAll('[data-breaker="search"] polyline')[0]?.getAttribute('points').split(' ').length >= 8`, 15*time.Second)
	b.waitJS(t, "retries", `document.querySelector('[data-breaker="search"] .retries') !== null`, 5*time.Second)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot written to %s (%d bytes)", path, len(png))
}

// startBare starts a node with the default config and its admin API as
// vsmnode mounts it (breakers and pools, no health checks yet).
func startBare(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := vsm.Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := admin.New(n, admin.WithRoutes(admin.BreakerRoutes(n)...), admin.WithRoutes(admin.PoolRoutes(n)...))
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		api.Close()
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return srv.URL + "/"
}
