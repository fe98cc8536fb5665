package httppool

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/fault/faultconfig"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// benchServer is a plain net/http server on loopback, apart from every
// client stack under test.
func benchServer(b *testing.B) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok")
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }
}

// runConcurrent runs b.N calls of op from c goroutines and reports
// throughput and latency percentiles.
func runConcurrent(b *testing.B, c int, op func(w int) error) {
	lat := make([][]time.Duration, c)
	var wg sync.WaitGroup
	per := b.N / c
	extra := b.N % c
	errs := make(chan error, c)
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < c; w++ {
		n := per
		if w < extra {
			n++
		}
		lat[w] = make([]time.Duration, 0, n)
		wg.Add(1)
		go func(w, n int) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				t0 := time.Now()
				if err := op(w); err != nil {
					errs <- err
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}(w, n)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(all[int(float64(len(all)-1)*p)].Microseconds()) }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// requester is the custom actor of the message path: told to go, it sends
// a *DoRequest to the pool actor with ctx.Request and hands the reply
// back.
type requester struct {
	pool *actor.PID
	req  *DoRequest
	done chan error
}

type goMsg struct{}

func (r *requester) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *goMsg:
		ctx.Request(r.pool, r.req)
	case *Response:
		r.done <- nil
	case *Failure:
		r.done <- m.Err
	}
}

// BenchmarkHTTPStack compares, against one loopback server in the same
// run: bare net/http (MaxIdleConnsPerHost raised), the same with a
// per-request deadline, the full stack (slots,
// balancer, breaker, retry, stats, the pool's timeout, with a subscriber
// on the event stream as when a dashboard is open), and a custom actor
// sending *DoRequest messages to the pool actor.
func BenchmarkHTTPStack(b *testing.B) {
	addr, stop := benchServer(b)
	defer stop()
	url := "http://" + addr + "/ping"

	for _, c := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("bare/c=%d", c), func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: 128, MaxIdleConns: 128, IdleConnTimeout: 90 * time.Second}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			runConcurrent(b, c, func(int) error {
				req, err := http.NewRequestWithContext(context.Background(), "GET", url, nil)
				if err != nil {
					return err
				}
				resp, err := hc.Do(req)
				if err != nil {
					return err
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				return err
			})
		})
		// The same bare client with a per-request deadline, as the stack
		// has: a cancellable context costs net/http ~10 µs per request here.
		b.Run(fmt.Sprintf("bare-deadline/c=%d", c), func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: 128, MaxIdleConns: 128, IdleConnTimeout: 90 * time.Second}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			runConcurrent(b, c, func(int) error {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
				if err != nil {
					return err
				}
				resp, err := hc.Do(req)
				if err != nil {
					return err
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				return err
			})
		})
		b.Run(fmt.Sprintf("vsm/c=%d", c), func(b *testing.B) {
			cl := fullStack(b, addr)
			defer cl.Close()
			ctx := context.Background()
			runConcurrent(b, c, func(int) error {
				_, err := cl.Do(ctx, Request{URL: "/ping"})
				return err
			})
		})
		b.Run(fmt.Sprintf("actor/c=%d", c), func(b *testing.B) {
			cl := fullStack(b, addr)
			defer cl.Close()
			sys := actortest.NewSystem(nil)
			defer sys.Shutdown()
			pid := sys.Root.Spawn(Props(cl, Env{Events: sys.EventStream}))
			defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
			// One requester actor per caller.
			rps := make([]*actor.PID, c)
			dones := make([]chan error, c)
			for i := range c {
				done := make(chan error, 1)
				rps[i] = sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
					return &requester{pool: pid, req: &DoRequest{Method: "GET", URL: "/ping"}, done: done}
				}))
				defer func() { _ = sys.Root.StopFuture(rps[i]).Wait() }()
				dones[i] = done
			}
			runConcurrent(b, c, func(w int) error {
				sys.Root.Send(rps[w], &goMsg{})
				return <-dones[w]
			})
		})
	}
}

// fullStack is a pool as the node builds it: a breaker, the
// fault_tolerance retry defaults, stats on, and an event stream with a
// subscriber beyond the node's own (a dashboard open): the per-attempt
// events are off, as by default (request_events).
func fullStack(b *testing.B, addr string) *Client {
	retry, err := faultconfig.Options(config.Default().FaultTolerance)
	if err != nil {
		b.Fatal(err)
	}
	sys := actortest.NewSystem(nil)
	b.Cleanup(sys.Shutdown)
	sub := sys.EventStream.Subscribe(func(any) {})
	b.Cleanup(func() { sys.EventStream.Unsubscribe(sub) })
	cl, err := New(Config{
		Name: "bench", Endpoints: []string{addr}, Size: 64,
		Breaker: breaker.New("bench", breaker.Settings{}), Retry: retry,
		Events: sys.EventStream,
	})
	if err != nil {
		b.Fatal(err)
	}
	return cl
}
