package vsm

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/actors/health"
)

// Option configures Start.
type Option interface{ apply(*options) }

type options struct {
	logger   *zap.Logger
	registry *prometheus.Registry
	state    stateOptions // state.go
	conns    connOptions  // conns.go
	// controlClock times S3's audit; export_test.go sets it.
	controlClock health.Clock
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithLogger sets the node's logger; protoactor's own logs go to it too.
// Default: no logging.
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(o *options) {
		if l != nil {
			o.logger = l
		}
	})
}

// WithRegistry registers the node's metrics on reg instead of a new registry
// of its own. The node's own registry also serves the Go runtime and process
// metrics (go_*, process_*); reg is left to its owner for those, who adds
// collectors.NewGoCollector and NewProcessCollector if wanted, so that two
// nodes or the owner's own collectors never clash on it.
func WithRegistry(reg *prometheus.Registry) Option {
	return optionFunc(func(o *options) { o.registry = reg })
}
