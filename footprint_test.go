package vsm_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// S1 starts its breakers and HTTP pools in batches, concurrently: every
// unit is still supervised, running, published by name, in the tree in
// name order (breakers, then pools), and usable once Start returns.
func TestManyUnitsStartInBatches(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("pong"))
	}))
	t.Cleanup(srv.Close)
	const breakers, pools = 300, 40
	cfg, err := config.Parse("many.yaml", footprintYAML(breakers, pools, strings.TrimPrefix(srv.URL, "http://")))
	if err != nil {
		t.Fatal(err)
	}
	n := startWith(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if got := len(n.Breakers()); got != breakers {
		t.Fatalf("%d breakers published, want %d", got, breakers)
	}
	if got := len(n.Pools()); got != pools {
		t.Fatalf("%d pools published, want %d", got, pools)
	}
	s1, ok := n.Lookup(vsm.S1)
	if !ok {
		t.Fatal("no s1")
	}
	kids, err := supervisor.List(ctx, n.Root(), s1)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range breakers {
		want = append(want, fmt.Sprintf("breaker/b%05d", i))
	}
	for i := range pools {
		want = append(want, fmt.Sprintf("pool/p%04d", i))
	}
	var units []supervisor.ChildInfo
	for _, k := range kids {
		if strings.HasPrefix(k.Name, "breaker/") || strings.HasPrefix(k.Name, "pool/") {
			units = append(units, k)
		}
	}
	if len(units) != len(want) {
		t.Fatalf("S1 supervises %d units, want %d", len(units), len(want))
	}
	for i, k := range units {
		if k.Name != want[i] || k.State != "running" {
			t.Fatalf("unit %d is %s (%s), want %s running", i, k.Name, k.State, want[i])
		}
		if pid, ok := n.Lookup("s1/" + k.Name); !ok || !pid.Equal(k.PID) {
			t.Fatalf("%s: directory has %v, supervisor %v", k.Name, pid, k.PID)
		}
	}
	for i := range pools {
		name := fmt.Sprintf("p%04d", i)
		res, err := n.Request(ctx, httppool.Request{Pool: name, URL: "/ping"})
		if err != nil || string(res.Body) != "pong" {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := n.Breaker(fmt.Sprintf("b%05d", i))
		if st := b.Stats(); st.Successes != 1 {
			t.Fatalf("breaker of %s counted %d successes, want 1", name, st.Successes)
		}
	}
}
