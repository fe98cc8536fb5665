package actorsys

import (
	"github.com/asynkron/protoactor-go/actor"
	cmap "github.com/orcaman/concurrent-map"
)

// Buckets is the number of concurrent maps the registry keeps (each of 32
// shards).
const Buckets = 8

// New returns actor.NewActorSystem(opts...) with its process registry cut
// to Buckets maps. The processes the system registered while it was made
// (dead letters, event stream) are moved over; no other goroutine sees the
// system until New returns.
func New(opts ...actor.ConfigOption) *actor.ActorSystem {
	sys := actor.NewActorSystem(opts...)
	Compact(sys.ProcessRegistry, Buckets)
	return sys
}

// Compact replaces reg's maps with n, moving what they hold. It must run
// before anything else uses reg.
func Compact(reg *actor.ProcessRegistryValue, n int) {
	old := reg.LocalPIDs
	sm := &actor.SliceMap{LocalPIDs: make([]cmap.ConcurrentMap, n)}
	for i := range sm.LocalPIDs {
		sm.LocalPIDs[i] = cmap.New()
	}
	for _, bucket := range old.LocalPIDs {
		for id, p := range bucket.Items() {
			sm.GetBucket(id).Set(id, p)
		}
	}
	reg.LocalPIDs = sm
}
