package vsm

import (
	"context"

	"github.com/viable-systems/vsm-connections/systems/s1"
	"github.com/viable-systems/vsm-connections/systems/s2"
	"github.com/viable-systems/vsm-connections/systems/s3"
	"github.com/viable-systems/vsm-connections/systems/s4"
	"github.com/viable-systems/vsm-connections/telemetry"
)

// startSystems makes the systems' APIs, on supervisors that run: S1 with
// the retry defaults every pool gets, S3 on S1's pools, S4. S2 is made by
// startCoordination, once the store and the breakers it needs exist.
func (n *Node) startSystems(context.Context) error {
	n.s1 = s1.New(s1.Env{
		Root: n.sys.Root, Supervisor: n.senv, Supervision: n.supervisionConfig(),
		Events: n.sys.EventStream, Alerts: n.alerts, Logger: n.logger, Retry: n.RetryOptions(),
		TuneWebSocket: n.connOpts.tuneWebSocket, TuneGRPC: n.connOpts.tuneGRPC,
	})
	// A shed is relative to the configured size.
	n.s3 = s3.New(n.sys.Root, n.s1, func(name string) int { return n.cfg.Pools[name].Size })
	n.s4 = s4.New(s4.Env{
		Root: n.sys.Root, Directory: n.dir, Alerts: n.alerts, Events: n.sys.EventStream,
		Supervisor: n.senv, Supervision: n.supervisionConfig(),
	})
	return nil
}

// startBreakers has S1 supervise one actor per configured breaker.
func (n *Node) startBreakers(ctx context.Context) error {
	return n.s1.StartBreakers(ctx, n.cfg.CircuitBreakers)
}

// startPools has S1 start one unit per configured pool.
func (n *Node) startPools(ctx context.Context) error {
	return n.s1.StartPools(ctx, n.cfg.Pools)
}

// startMetrics registers the collectors that read S1's units at scrape
// time, so requests pay nothing for Prometheus.
func (n *Node) startMetrics(context.Context) error {
	if err := n.registry.Register(telemetry.NewBreakerCollector(n.s1)); err != nil {
		return err
	}
	if err := n.registry.Register(telemetry.NewPoolCollector(n.s1)); err != nil {
		return err
	}
	return n.registry.Register(telemetry.NewConnPoolCollector(n.s1))
}

// Operations is System 1's API: the operational units (breakers, pools,
// the Redis unit) by name. Nil on a Node that Start did not return.
func (n *Node) Operations() *s1.S1 { return n.s1 }

// Coordination is System 2's API: the shared breakers' coordinators and
// the alert bridge. Nil until Start has started them.
func (n *Node) Coordination() *s2.S2 { return n.s2 }

// Control is System 3's API, the controller: node-wide pool stats,
// resizes and sheds, each through the pool's actor.
func (n *Node) Control() *s3.S3 { return n.s3 }

// Intelligence is System 4's API: the checkers of the services outside
// the node.
func (n *Node) Intelligence() *s4.S4 { return n.s4 }
