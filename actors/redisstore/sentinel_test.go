package redisstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/internal/redistest"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/statetest"
)

func sentinelStore(t testing.TB, s *redistest.Sentinel, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	st := newStore(t, config.Redis{Addrs: s.Addrs(), MasterName: redistest.SentinelMaster, Timeout: config.Duration(5 * time.Second)}, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping %s: %v", st, err)
	}
	if !strings.HasPrefix(st.String(), "redis(sentinel master="+redistest.SentinelMaster) {
		t.Fatalf("store %s is not in Sentinel mode", st)
	}
	return st
}

// The behaviour suite through Sentinel (addrs with master_name), against
// a real Sentinel set.
func TestSentinelSuite(t *testing.T) {
	s := redistest.StartSentinel(t)
	statetest.Run(t, func(t *testing.T) state.Store { return sentinelStore(t, s) })
	t.Run("AutoPipelined", func(t *testing.T) {
		statetest.Run(t, func(t *testing.T) state.Store { return sentinelStore(t, s, redisstore.WithAlwaysBatch()) })
	})
	t.Run("AutoPipelineOwnValues", func(t *testing.T) {
		var batched batchCounter
		checkOwnValues(t, sentinelStore(t, s, batched.option()), "ap:sentinel", 64, 30)
		if batched.n.Load() == 0 {
			t.Fatal("no call went through the auto-pipeliner")
		}
	})
}

// The master killed mid-run, with replica_acks 1: the sentinels promote
// the replica; writes are acknowledged again once the killed node,
// restarted, is its replica; nothing acknowledged is lost; the
// subscription follows the master.
func TestSentinelMasterKilledMidRun(t *testing.T) {
	s := redistest.StartSentinel(t)
	// Replication is asynchronous: without WAIT, the last writes a master
	// acknowledged before it died may never have reached the replica
	// (seen here: 1 of about 800).
	st := sentinelStore(t, s, redisstore.WithReplicaAcks(1), redisstore.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))))
	old := s.Master()
	killMidRun(t, st, "sentinel", func() {
		s.Kill(old)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s.WaitFailover(ctx, old)
		s.Restart(old)
	}, 15*time.Second)
	if now := s.Master(); now == old {
		t.Fatalf("sentinels still name the killed %s", old)
	}
}
