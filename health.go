package vsm

import (
	"context"
	"fmt"
	"time"

	"github.com/viable-systems/vsm-connections/actors/health"
	"github.com/viable-systems/vsm-connections/systems/s3"
	"github.com/viable-systems/vsm-connections/telemetry"
)

// startChecks has S4 supervise one checker per health_checks entry (under
// "s4/check"), exports them to Prometheus, and adds the readiness checks
// of those listed in admin.readiness.health_checks or marked readiness.
func (n *Node) startChecks(ctx context.Context) error {
	if err := n.s4.StartChecks(ctx, n.cfg.HealthChecks, n.state.Raw()); err != nil {
		return err
	}
	if err := n.registry.Register(telemetry.NewHealthCollector(n.s4)); err != nil {
		return err
	}
	ready := map[string]bool{}
	var order []string
	for _, name := range n.cfg.Admin.Readiness.HealthChecks {
		ready[name] = true
		order = append(order, name)
	}
	for _, name := range n.s4.Health().Names() {
		if c := n.cfg.HealthChecks[name]; c.Readiness && !ready[name] {
			ready[name] = true
			order = append(order, name)
		}
	}
	for _, name := range order {
		if err := n.AddReadinessCheck(HealthReadinessPrefix+name, func(context.Context) error {
			return n.healthReady(name)
		}); err != nil {
			return err
		}
	}
	return nil
}

// startControl starts S3's controller with the health policies of
// control.health_policies, the autoscaled pools of control.autoscale and
// the S3* audit. It runs before S1's pools
// start (see s3.StartControl), and acts on them once they exist.
func (n *Node) startControl(ctx context.Context) error {
	c := n.cfg.Control
	policies := make([]s3.HealthPolicy, len(c.HealthPolicies))
	for i, p := range c.HealthPolicies {
		policies[i] = s3.HealthPolicy{Check: p.Check, Pool: p.Pool, Action: p.OnUnhealthy,
			Breaker: n.cfg.Pools[p.Pool].CircuitBreaker, Endpoint: p.Endpoint}
		if p.Endpoint == "" {
			policies[i].Endpoint = n.cfg.HealthChecks[p.Check].HostPort()
		}
	}
	scale := make([]s3.Autoscale, len(c.Autoscale))
	for i, a := range c.Autoscale {
		scale[i] = s3.Autoscale{Pool: a.Pool, Min: a.Min, Max: a.Max, TargetWait: a.TargetWait.D(),
			High: a.HighUtilisation / 100, Low: a.LowUtilisation / 100}
		if a.Max == 0 {
			scale[i].Max = n.cfg.Pools[a.Pool].Size
		}
	}
	_, err := n.s3.StartControl(ctx, s3.ControlEnv{
		Root: n.sys.Root, Directory: n.dir, Events: n.sys.EventStream, Alerts: n.alerts,
		Breakers: n.s1, Health: n.s4.Health(), Policies: policies,
		AuditInterval: c.AuditInterval.D(), Autoscale: scale, AutoscaleInterval: c.AutoscaleInterval.D(),
		Clock: n.controlClock,
	})
	return err
}

// HealthReadinessPrefix names the readiness check of a health check:
// "health/<name>".
const HealthReadinessPrefix = "health/"

// healthReady reads the check's published status: a readiness probe must
// not probe the upstream once more per scrape.
func (n *Node) healthReady(name string) error {
	st, ok := n.s4.Health().Status(name)
	switch {
	case !ok:
		return fmt.Errorf("%w: no health check %q", ErrNotReady, name)
	case st.Status == health.Healthy:
		return nil
	}
	return fmt.Errorf("%w: health check %q is %s", ErrNotReady, name, st.Status)
}

// Health is System 4's registry of the node's health checks (the
// configured ones and those added with RegisterCheck), for the admin API
// and for code that needs more than Check, HealthStatus and AllHealth.
// Nil on a Node that Start did not return.
func (n *Node) Health() *health.Registry {
	if n.s4 == nil {
		return nil
	}
	return n.s4.Health()
}

// Check probes the health check name now, within ctx, and returns its
// result: the seed's check(name). The error is about the asking (it
// matches health.ErrUnknownCheck, health.ErrNotRunning, ErrStopped or
// ctx's error, ErrNotStarted); the probe's own failure is Result.Err.
func (n *Node) Check(ctx context.Context, name string) (health.Result, error) {
	if n.s4 == nil {
		return health.Result{}, ErrNotStarted
	}
	if n.isStopped() {
		return health.Result{}, ErrStopped
	}
	return n.s4.Health().Check(ctx, name)
}

// HealthStatus is the latest snapshot of the health check name, read
// without a mailbox hop; false for an unknown name.
func (n *Node) HealthStatus(name string) (health.Snapshot, bool) {
	if n.s4 == nil {
		return health.Snapshot{}, false
	}
	return n.s4.Health().Status(name)
}

// AllHealth is every health check's latest snapshot, by name.
func (n *Node) AllHealth() map[string]health.Snapshot {
	if n.s4 == nil {
		return map[string]health.Snapshot{}
	}
	return n.s4.Health().AllStatus()
}

// RegisterCheck adds a custom health check, fn, probed every interval (0:
// health.DefaultInterval) by a checker supervised as "s4/check/<name>":
// the seed's register_service(name, check, interval). A panic in fn is
// contained and counts as a failure. Errors match health.ErrExists for a
// name in use, health.ErrSpec, or ErrStopped.
func (n *Node) RegisterCheck(ctx context.Context, name string, fn func(context.Context) error, interval time.Duration) error {
	if n.s4 == nil {
		return ErrNotStarted
	}
	if n.isStopped() {
		return ErrStopped
	}
	return n.s4.Health().Register(ctx, name, fn, interval)
}
