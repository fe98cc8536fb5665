package main

import (
	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/admin"
)

// adminRoutes mounts the endpoints of the node's connection parts.
func adminRoutes(n *vsm.Node) []admin.Option {
	return []admin.Option{
		admin.WithRoutes(admin.BreakerRoutes(n)...),
		admin.WithRoutes(admin.PoolRoutes(n)...),
		admin.WithRoutes(admin.HealthRoutes(n.Health())...),
	}
}
