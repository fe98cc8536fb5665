package s1

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/breaker"
)

// The request path looks units up by name: it must never wait for a writer.
// A writer holds s.mu while it starts an actor (a mailbox round trip), so
// a lookup that took it would stall every request behind an AddPool.
func TestLookupsTakeNoLock(t *testing.T) {
	s := New(Env{})
	b := breaker.New("api", breaker.Settings{})
	c, err := httppool.New(httppool.Config{Name: "api", Endpoints: []string{"127.0.0.1:9"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.mu.Lock()
	store(&s.breakers, "api", b)
	s.keepPool(&Pool{c: c, s1: s})
	s.mu.Unlock()

	s.mu.Lock() // a writer in the middle of an Add
	defer s.mu.Unlock()
	done := make(chan [4]bool, 1)
	go func() {
		_, okB := s.Breaker("api")
		_, okP := s.Pool("api")
		p, err := s.Route(httppool.Request{URL: "http://127.0.0.1:9/x"})
		done <- [4]bool{okB, okP, err == nil && p.Name() == "api", len(s.Breakers()) == 1 && len(s.Pools()) == 1}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case got := <-done:
		if got != [4]bool{true, true, true, true} {
			t.Fatalf("breaker, pool, route, lists found: %v, want all", got)
		}
	case <-ctx.Done():
		t.Fatal("a lookup waited for the writers' lock")
	}
}

// Route reads a table rebuilt whenever a pool is added: an endpoint
// unknown before is routed once a pool has it, the first pool by name wins
// an endpoint two pools share (as the scan of the sorted pools it
// replaces), and URL forms that need url.Parse route the same.
func TestRouteTableFollowsAddedPools(t *testing.T) {
	s := New(Env{})
	newPool := func(name string, eps ...string) *Pool {
		c, err := httppool.New(httppool.Config{Name: name, Endpoints: eps})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return &Pool{c: c, s1: s}
	}
	route := func(url string) (string, error) {
		p, err := s.Route(httppool.Request{URL: url})
		if err != nil {
			return "", err
		}
		return p.Name(), nil
	}
	if _, err := route("http://127.0.0.1:9/x"); !errors.Is(err, httppool.ErrNoPool) {
		t.Fatalf("before any pool: %v, want ErrNoPool", err)
	}
	s.mu.Lock()
	s.keepPool(newPool("zeta", "127.0.0.1:9", "example.com:80"))
	s.mu.Unlock()
	for _, url := range []string{"http://127.0.0.1:9/x", "HTTP://127.0.0.1:9", "http://127.0.0.1:9?q=1", "http://user@127.0.0.1:9/x", "http://example.com/", "http://example.com:80#f"} {
		if got, err := route(url); err != nil || got != "zeta" {
			t.Fatalf("%s: %q %v, want zeta", url, got, err)
		}
	}
	if _, err := route("http://127.0.0.1:10/x"); !errors.Is(err, httppool.ErrNoPool) {
		t.Fatalf("unknown endpoint: %v, want ErrNoPool", err)
	}
	s.mu.Lock()
	s.keepPool(newPool("alpha", "127.0.0.1:9"))
	s.keepPool(newPool("beta", "127.0.0.1:10", "[::1]:443"))
	s.mu.Unlock()
	for url, want := range map[string]string{
		"http://127.0.0.1:9/x":  "alpha", // first by name
		"http://127.0.0.1:10/x": "beta",  // added since the last lookup
		"https://[::1]/x":       "beta",
		"http://example.com/":   "zeta",
	} {
		if got, err := route(url); err != nil || got != want {
			t.Fatalf("%s: %q %v, want %s", url, got, err, want)
		}
	}
	for _, url := range []string{"/relative", "127.0.0.1:9", "http://127.0.0.1:x/"} {
		if _, err := route(url); !errors.Is(err, httppool.ErrNoPool) {
			t.Fatalf("%s: %v, want ErrNoPool", url, err)
		}
	}
}

// Routing an absolute URL of the common form allocates nothing.
func TestRouteAllocatesNothing(t *testing.T) {
	s := New(Env{})
	c, err := httppool.New(httppool.Config{Name: "api", Endpoints: []string{"127.0.0.1:9"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.mu.Lock()
	s.keepPool(&Pool{c: c, s1: s})
	s.mu.Unlock()
	req := httppool.Request{URL: "http://127.0.0.1:9/v1/users?limit=10"}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := s.Route(req); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Route: %v allocs, want 0", n)
	}
}
