package s1

import (
	"context"
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
	store(&s.pools, "api", &Pool{c: c, s1: s})
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
