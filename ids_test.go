package vsm_test

import (
	"context"
	"testing"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/config"
)

// The IDs are those of the actors the node spawns, so another member can
// address them by name.
func TestActorIDs(t *testing.T) {
	cfg, err := config.Parse("p.yaml", []byte("circuit_breakers:\n  b: {}\npools:\n  api: {host: 127.0.0.1, port: 1, circuit_breaker: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := vsm.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := n.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	p, _ := n.Pool("api")
	if pid, ok := p.PID(); !ok || pid.GetId() != vsm.PoolActorID("api") || pid.GetId() != "vsm/s1/pool/api" {
		t.Fatalf("pool pid %v, PoolActorID %s", pid, vsm.PoolActorID("api"))
	}
	if pid, ok := n.BreakerPID("b"); !ok || pid.GetId() != vsm.BreakerActorID("b") || pid.GetId() != "vsm/s1/breaker/b" {
		t.Fatalf("breaker pid %v, BreakerActorID %s", pid, vsm.BreakerActorID("b"))
	}
}
