package vsm

import "github.com/viable-systems/vsm-connections/systems/s1"

// rootName is the process name of the node's root supervisor: every actor
// of the tree is named under it.
const rootName = "vsm"

// PoolActorID is the process name of the HTTP pool name's actor on any
// node ("vsm/s1/pool/api"): with cluster.Node.PID(member, PoolActorID(name))
// a caller addresses that pool on another member.
func PoolActorID(name string) string { return rootName + "/" + s1.Name + "/" + s1.PoolPrefix + name }

// BreakerActorID is the process name of the breaker name's actor on any
// node ("vsm/s1/breaker/api").
func BreakerActorID(name string) string {
	return rootName + "/" + s1.Name + "/" + s1.BreakerPrefix + name
}
