package vsm

import (
	"context"
	"time"

	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/fault/faultconfig"
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
	return nil
}
