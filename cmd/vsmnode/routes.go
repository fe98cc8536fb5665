package main

import (
	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/admin"
)

// adminRoutes mounts the endpoints of the node's connection parts.
func adminRoutes(_ *vsm.Node) []admin.Option { return nil }
