package main

import (
	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/cluster"
)

// adminRoutes mounts the endpoints of the node's connection parts; with a
// cluster member (nil: none) pool requests may name another member.
func adminRoutes(n *vsm.Node, member *cluster.Node) []admin.Option {
	var popts []admin.PoolOption
	if member != nil {
		popts = append(popts, admin.WithRemotePools(remotePools{member}))
	}
	return []admin.Option{
		admin.WithRoutes(admin.BreakerRoutes(n)...),
		admin.WithRoutes(admin.PoolRoutes(n, popts...)...),
		admin.WithRoutes(admin.HealthRoutes(n.Health())...),
	}
}
