package vsm

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/health"
)

// WithStateMiddleware adds receiver middleware to the state actor
// (s1/redis/store) and to its unit supervisor (s1/redis), so that tests can
// crash them on demand (internal/actortest.Crasher). Either may be nil.
func WithStateMiddleware(store, unit actor.ReceiverMiddleware) Option {
	return optionFunc(func(o *options) {
		if store != nil {
			o.state.storeMW = append(o.state.storeMW, store)
		}
		if unit != nil {
			o.state.unitMW = append(o.state.unitMW, unit)
		}
	})
}

// WithControlClock times S3's audit with c, so tests fire it on demand.
func WithControlClock(c health.Clock) Option {
	return optionFunc(func(o *options) { o.controlClock = c })
}
