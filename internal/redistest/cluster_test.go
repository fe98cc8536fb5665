package redistest_test

import (
	"context"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/internal/redistest"
)

// The helper forms a 3+3 cluster, and after a master is killed its
// replica serves the master's slots.
func TestClusterFormsAndFailsOver(t *testing.T) {
	start := time.Now()
	c := redistest.StartCluster(t)
	t.Logf("formed in %v", time.Since(start))
	if n := len(c.Addrs()); n != 6 {
		t.Fatalf("%d nodes, want 6", n)
	}
	if got, want := c.Slot("{user1000}.following"), c.Slot("user1000"); got != want || c.Slot("foo") != 12182 {
		t.Fatalf("slots %d, %d; want them equal (and foo in 12182)", got, want)
	}
	old := c.MasterOf("{x}")
	start = time.Now()
	c.Kill(old)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c.WaitHealthy(ctx)
	if now := c.MasterOf("{x}"); now == old {
		t.Fatalf("slot of {x} still served by the killed %s", old)
	}
	t.Logf("failed over in %v", time.Since(start))
}

// The Sentinel set forms, and after its master is killed the sentinels
// promote the replica.
func TestSentinelFormsAndFailsOver(t *testing.T) {
	start := time.Now()
	s := redistest.StartSentinel(t)
	t.Logf("ready in %v", time.Since(start))
	if n := len(s.Addrs()); n != 3 {
		t.Fatalf("%d sentinels, want 3", n)
	}
	old := s.Master()
	start = time.Now()
	s.Kill(old)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s.WaitFailover(ctx, old)
	if now := s.Master(); now == old {
		t.Fatalf("master still %s", old)
	}
	t.Logf("failed over in %v", time.Since(start))
}
