package vsm

import (
	"context"
	"time"

	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/fault/faultconfig"
	"github.com/viable-systems/vsm-connections/systems/s1"
	"github.com/viable-systems/vsm-connections/systems/s3"
)

// RetryOptions are the node's retry defaults (fault_tolerance in the
// config). Options given after them override them.
func (n *Node) RetryOptions() []fault.Option {
	return append([]fault.Option(nil), n.retryDefaults...)
}

// Retry is fault.Retry with the node's defaults from fault_tolerance; opts
// override them.
func (n *Node) Retry(ctx context.Context, fn func(context.Context) error, opts ...fault.Option) error {
	return fault.Retry(ctx, fn, append(n.RetryOptions(), opts...)...)
}

// RetryWithDeadline is fault.RetryWithDeadline with the node's defaults.
func (n *Node) RetryWithDeadline(ctx context.Context, d time.Duration, fn func(context.Context) error, opts ...fault.Option) error {
	return fault.RetryWithDeadline(ctx, d, fn, append(n.RetryOptions(), opts...)...)
}

func (n *Node) startRetry(context.Context) error {
	opts, err := faultconfig.Options(n.cfg.FaultTolerance)
	if err != nil {
		return err
	}
	n.retryDefaults = opts
	// S1 gives every pool these defaults.
	n.s1 = s1.New(s1.Env{
		Root: n.sys.Root, Supervisor: n.senv, Supervision: n.supervisionConfig(),
		Events: n.sys.EventStream, Alerts: n.alerts, Logger: n.logger, Retry: n.RetryOptions(),
	})
	n.s3 = s3.New(n.sys.Root, n.s1, func(name string) int { return n.cfg.Pools[name].Size })
	return nil
}
