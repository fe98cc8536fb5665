package vsm_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/pool"
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/systems/s1"
	"github.com/viable-systems/vsm-connections/systems/s3"
	"github.com/viable-systems/vsm-connections/vsmtest"
)

// Each system hands out what it owns: S1 the units by name, S3 the
// node-wide pool stats and the resize, which goes through the pool actor
// (the only writer of the size, so the resize is announced by exactly one
// event.PoolResized) and is seen by every handle.
func TestSystemsOwnTheirUnits(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	host, port, _ := strings.Cut(svc.Addr(), ":")
	n := startNode(t, poolConfig(t, fmt.Sprintf(`
circuit_breakers:
  api: {failure_threshold: 2, recovery_timeout: 1h}
  db: {failure_threshold: 3, recovery_timeout: 1h}
pools:
  zeta: {host: %[1]s, port: %[2]s, size: 2}
  api: {host: %[1]s, port: %[2]s, size: 3, circuit_breaker: api}
`, host, port)))
	ops := n.Operations()
	b, ok := ops.Breaker("api")
	if nb, _ := n.Breaker("api"); !ok || b != nb {
		t.Fatalf("S1 breaker api %p %v, node's %p", b, ok, nb)
	}
	var got []string
	for _, b := range ops.Breakers() {
		got = append(got, b.Name())
	}
	if want := []string{"api", "db"}; !slices.Equal(got, want) {
		t.Fatalf("S1 breakers %v, want %v", got, want)
	}
	p, ok := ops.Pool("api")
	if !ok || p.Client().Config().Breaker != b {
		t.Fatalf("S1 pool api %v, guarded by the breaker api: %v", ok, ok && p.Client().Config().Breaker == b)
	}
	if _, ok := ops.Pool("nope"); ok {
		t.Fatal("S1 has a pool nope")
	}

	stats := n.PoolStats()
	if len(stats) != 2 || stats[0].Name != "api" || stats[0].Size != 3 || stats[1].Name != "zeta" || stats[1].Size != 2 {
		t.Fatalf("node-wide pool stats %+v, want api(3), zeta(2)", stats)
	}

	resized := collect[*event.PoolResized](t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := n.Control().Resize(ctx, "api", 7)
	if err != nil || st.Size != 7 {
		t.Fatalf("S3 resize: %+v %v", st, err)
	}
	if ev := recv(t, resized); ev.Pool != "api" || ev.From != 3 || ev.To != 7 {
		t.Fatalf("event %+v, want api 3→7", ev)
	}
	if got := p.Stats().Size; got != 7 {
		t.Fatalf("S1's handle sees size %d, want 7", got)
	}
	if np, _ := n.Pool("api"); np.Stats().Size != 7 {
		t.Fatalf("node's handle sees size %d, want 7", np.Stats().Size)
	}
	if _, err := n.Control().Resize(ctx, "nope", 2); !errors.Is(err, httppool.ErrNoPool) {
		t.Fatalf("resize of an unknown pool: %v, want ErrNoPool", err)
	}
	if _, err := n.Control().Resize(ctx, "api", 0); !errors.Is(err, pool.ErrInvalidSize) {
		t.Fatalf("resize to 0: %v, want ErrInvalidSize", err)
	}
	from, to, err := n.Control().Shed(ctx, "api", func(base int) int { return base - 1 })
	if err != nil || from != 7 || to != 2 {
		t.Fatalf("shed to configured size 3 - 1: %d→%d %v, want 7→2", from, to, err)
	}
	if ev := recv(t, resized); ev.Pool != "api" || ev.From != 7 || ev.To != 2 {
		t.Fatalf("event %+v, want api 7→2", ev)
	}
	select {
	case ev := <-resized:
		t.Fatalf("one resize too many: %+v", ev)
	default:
	}

	// With its actor gone, nothing may change the size.
	sup, _ := n.Lookup(vsm.S1)
	if err := supervisor.Stop(ctx, n.Root(), sup, vsm.PoolPrefix+"api"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Control().Resize(ctx, "api", 4); !errors.Is(err, s3.ErrNotRunning) {
		t.Fatalf("resize without the actor: %v, want s3.ErrNotRunning", err)
	}
	if got := p.Stats().Size; got != 2 {
		t.Fatalf("size %d after a refused resize, want 2", got)
	}
}

// Units added while requests run: the request path reads S1's snapshot
// while AddPool and AddBreaker publish new ones (run with -race), and
// every unit added is found afterwards, in name order.
func TestAddUnitsWhileRequestsRun(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	svc.RespondTo("GET /ping", 200, "pong", nil)
	host, port, _ := strings.Cut(svc.Addr(), ":")
	n := startNode(t, poolConfig(t, fmt.Sprintf("pools:\n  api: {host: %s, port: %s, size: 4}\n", host, port)))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stop := make(chan struct{})
	served := make(chan int, 1)
	go func() {
		ok := 0
		for {
			select {
			case <-stop:
				served <- ok
				return
			default:
			}
			if _, err := n.Request(ctx, httppool.Request{Pool: "api", URL: "/ping"}); err == nil {
				ok++
			}
			_, _ = n.Breaker("b3") // read while AddBreaker writes
		}
	}()
	want := []string{"api"}
	for i := range 5 {
		name := fmt.Sprintf("p%d", i)
		if _, err := n.AddPool(ctx, httppool.Config{Name: name, Endpoints: []string{svc.Addr()}}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.AddBreaker(ctx, breaker.New(fmt.Sprintf("b%d", i), breaker.Settings{})); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	close(stop)
	if got := <-served; got == 0 {
		t.Fatal("no request served while units were added")
	}
	var got []string
	for _, p := range n.Pools() {
		got = append(got, p.Name())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pools %v, want %v", got, want)
	}
	if _, err := n.AddPool(ctx, httppool.Config{Name: "p0", Endpoints: []string{svc.Addr()}}); !errors.Is(err, s1.ErrExists) {
		t.Fatalf("a second pool p0: %v, want s1.ErrExists", err)
	}
	if len(n.Breakers()) != 5 {
		t.Fatalf("%d breakers, want 5", len(n.Breakers()))
	}
}
