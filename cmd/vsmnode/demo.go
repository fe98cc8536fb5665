package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"text/template"
	"time"

	"go.uber.org/zap"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/grpcpool"
	"github.com/viable-systems/vsm-connections/actors/ws"
	"github.com/viable-systems/vsm-connections/config"
)

// demoTemplate is the config of `vsmnode run --demo`, filled in with the
// demo services' addresses and timings.
//
//go:embed demo.yaml
var demoTemplate string

// The demo's pools, as demo.yaml names them.
const (
	demoHTTPPool = "flaky-http"
	demoWSPool   = "echo-ws"
	demoGRPCPool = "health-grpc"
)

// Default phase lengths: long enough to read the dashboard, short enough
// that a newcomer sees every breaker trip and recover within a minute.
const (
	defaultDemoUp   = 20 * time.Second
	defaultDemoDown = 15 * time.Second
)

// demoTimings are the demo's durations, all derived from the phase lengths
// so that a short demo (the tests') trips and recovers as a long one does.
type demoTimings struct {
	Up, Down time.Duration
	// Recovery is the breakers' recovery_timeout: a sixth of the failing
	// phase (at most 3s), so that a breaker fails three half-open probes in
	// a row (a Critical, which S5's breaker-stuck rule acts on) before its
	// service recovers.
	Recovery time.Duration
	// Timeout is each pool call's; Slow, how long a slow HTTP answer takes
	// (twice Timeout, so it is a timeout).
	Timeout, Slow time.Duration
}

func newDemoTimings(up, down time.Duration) demoTimings {
	t := demoTimings{Up: up, Down: down}
	t.Recovery = min(max(down/6, 100*time.Millisecond), 3*time.Second)
	t.Timeout = min(max(down/4, 200*time.Millisecond), time.Second)
	t.Slow = 2 * t.Timeout
	return t
}

// demoConfigYAML fills the template in.
func demoConfigYAML(svc *demoServices, t demoTimings) ([]byte, error) {
	tmpl, err := template.New("demo.yaml").Option("missingkey=error").Parse(demoTemplate)
	if err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	var b bytes.Buffer
	err = tmpl.Execute(&b, map[string]any{
		"HTTP": svc.httpAddr, "WS": svc.wsAddr, "GRPC": svc.grpcAddr,
		"Recovery": t.Recovery.String(), "Timeout": t.Timeout.String(),
	})
	if err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	return b.Bytes(), nil
}

// traffic calls through the demo's pools at a bounded rate until its
// context ends.
type traffic struct {
	wg sync.WaitGroup
}

// startTraffic starts one generator per pool: HTTP GETs at 10/s, gRPC
// health Checks at 5/s, WebSocket messages at 2/s, each with at most 4
// calls in flight (a tick that finds them all busy is skipped, so a slow
// upstream lowers the rate instead of piling calls up).
func startTraffic(ctx context.Context, n *vsm.Node, timeout time.Duration) *traffic {
	t := &traffic{}
	// A call is bounded by a few attempts of the pool's timeout: retries
	// included, it never outlives the shutdown by much.
	callTimeout := 4 * timeout
	t.every(ctx, 100*time.Millisecond, 4, callTimeout, func(ctx context.Context) error {
		_, err := n.Get(ctx, demoHTTPPool, "/work")
		return err
	})
	if ch, ok := n.GRPC(demoGRPCPool); ok {
		t.every(ctx, 200*time.Millisecond, 4, callTimeout, func(ctx context.Context) error {
			return grpcpool.CheckHealth(ctx, ch, "")
		})
	}
	if p, ok := n.WebSocket(demoWSPool); ok {
		t.every(ctx, 500*time.Millisecond, 4, callTimeout, func(ctx context.Context) error {
			return p.Send(ctx, "", ws.TextMessage(`{"demo":"ping"}`))
		})
	}
	return t
}

// every calls fn once per interval, with at most inFlight calls running,
// until ctx ends. Errors are the point of the demo: the pools' breakers
// and events report them, so they are dropped here.
func (t *traffic) every(ctx context.Context, interval time.Duration, inFlight int, timeout time.Duration, fn func(context.Context) error) {
	sem := make(chan struct{}, inFlight)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				continue
			}
			t.wg.Add(1)
			go func() {
				defer t.wg.Done()
				defer func() { <-sem }()
				cctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				_ = fn(cctx)
			}()
		}
	}()
}

// wait returns when every generator and call has returned.
func (t *traffic) wait() { t.wg.Wait() }

// runDemo is `vsmnode run --demo`: it starts the three flaky services, a
// node configured from demo.yaml to pool, break and police them, and
// traffic through the pools; it prints the dashboard URL to stdout and runs
// until ctx ends. Everything stops in order: traffic, node and admin API,
// services.
func runDemo(ctx context.Context, f runFlags, env []string, stdout io.Writer, logger *zap.Logger) error {
	t := newDemoTimings(f.demoUp, f.demoDown)
	svc, err := startDemoServices(t.Up, t.Down, t.Slow)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if serr := svc.stop(sctx); serr != nil {
			logger.Warn("demo services did not stop cleanly", zap.Error(serr))
		}
	}()
	src, err := demoConfigYAML(svc, t)
	if err != nil {
		return err
	}
	cfg, err := config.Parse("demo config", src)
	if err != nil {
		return err
	}
	cfg, ignored, err := cfg.WithEnv(env)
	if err != nil {
		return err
	}
	for _, p := range ignored {
		logger.Warn("environment variable ignored", zap.String("variable", p.Env), zap.String("reason", p.Msg))
	}
	if f.adminAddr != "" {
		cfg.Admin.Addr = f.adminAddr
	}
	logger.Debug("demo config", zap.ByteString("yaml", src))

	// The traffic ends with ctx, so before serve stops the node; tctx
	// also ends it when serve returns for another reason (the node failed).
	tctx, stopTraffic := context.WithCancel(ctx)
	defer stopTraffic()
	var gen *traffic
	err = serve(ctx, cfg, logger, func(n *vsm.Node, addr net.Addr) {
		gen = startTraffic(tctx, n, t.Timeout)
		printDemoBanner(stdout, addr, svc, t)
	})
	stopTraffic()
	if gen != nil {
		gen.wait()
	}
	return err
}

func printDemoBanner(w io.Writer, admin net.Addr, svc *demoServices, t demoTimings) {
	fmt.Fprintf(w, `vsmnode demo: three flaky services on loopback, pooled, guarded by breakers and policed by S5.

  dashboard   http://%s/

  http        %-21s  pool %s: healthy %s, then 503s and slow answers for %s
  websocket   %-21s  pool %s: echo; drops its connections and refuses new ones in bursts
  grpc        %-21s  pool %s: grpc.health.v1; NOT_SERVING and UNAVAILABLE in bursts

Within a minute the breakers trip and recover and alerts reach S5 (rules
breaker-opened and breaker-stuck). Ctrl-C stops everything.
`, admin, svc.httpAddr, demoHTTPPool, t.Up, t.Down, svc.wsAddr, demoWSPool, svc.grpcAddr, demoGRPCPool)
}

// errDemoFlags reports flags that do not go with --demo.
var errDemoFlags = errors.New("vsmnode run: --demo runs its own config: it does not take --config")
