package main

import (
	"context"
	"net/http"

	"github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/cluster"
	"github.com/viable-systems/vsm-connections/config"
)

// startCluster makes the node a member of the cluster its config's
// cluster: section describes; nil, nil without one.
func startCluster(ctx context.Context, node *vsm.Node, c *config.Config) (*cluster.Node, error) {
	if !c.Cluster.Enabled() {
		return nil, nil
	}
	cc, err := cluster.FromConfig(c.Cluster, c.Node.Name, c.Node.Cluster)
	if err != nil {
		return nil, err
	}
	return cluster.Start(ctx, node.ActorSystem(), cc)
}

// clusterView is the body of GET /api/v1/cluster.
type clusterView struct {
	Enabled bool             `json:"enabled"`
	Self    *cluster.Member  `json:"self,omitempty"`
	Members []cluster.Member `json:"members"`
}

// clusterRoutes serves GET /api/v1/cluster: the members as this node sees
// them (name, instance id, address, status, last seen); enabled false and
// no members when the node runs alone.
func clusterRoutes(m *cluster.Node) []admin.Route {
	return []admin.Route{{Pattern: "GET /api/v1/cluster", Handler: func(w http.ResponseWriter, _ *http.Request) {
		v := clusterView{Members: []cluster.Member{}}
		if m != nil {
			self := m.Self()
			v.Enabled, v.Self, v.Members = true, &self, m.Members()
		}
		admin.WriteJSON(w, http.StatusOK, v)
	}}}
}
