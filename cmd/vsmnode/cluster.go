package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/cluster"
	"github.com/viable-systems/vsm-connections/cluster/signals"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// clusterRun is the node's membership and its cluster-wide signals.
type clusterRun struct {
	member *cluster.Node
	hub    *signals.Hub
	unsub  func()
}

// node is the membership, nil when the node is in no cluster.
func (r *clusterRun) node() *cluster.Node {
	if r == nil {
		return nil
	}
	return r.member
}

// newHub is the signals hub of a node that joins a cluster (nil without a
// cluster: section), and the Start options it needs: without Redis, the
// shared breakers agree over the cluster itself.
func newHub(c *config.Config, logger *zap.Logger) (*signals.Hub, []vsm.Option) {
	if !c.Cluster.Enabled() {
		return nil, nil
	}
	hub := signals.New(signals.Config{Logger: logger})
	if c.Redis.Enabled() {
		return hub, nil
	}
	return hub, []vsm.Option{vsm.WithBreakerTransport(hub.Transport)}
}

// startCluster makes the node a member of the cluster its config's
// cluster: section describes and starts its signals: the hub's actor
// (S2's child "cluster"), alerts to and from every member's S5 (unless
// they already go through Redis: algedonic.remote with a redis: section),
// and the shared breakers' transport. nil, nil without a cluster.
func startCluster(ctx context.Context, node *vsm.Node, c *config.Config, hub *signals.Hub) (*clusterRun, error) {
	if !c.Cluster.Enabled() {
		return nil, nil
	}
	cc, err := cluster.FromConfig(c.Cluster, c.Node.Name, c.Node.Cluster)
	if err != nil {
		return nil, err
	}
	// The actor first: a peer may send to it as soon as we are a member.
	pid, err := node.StartChild(ctx, "s2", supervisor.ChildSpec{Name: "cluster", Props: hub.Props()})
	if err != nil {
		return nil, fmt.Errorf("cluster signals: %w", err)
	}
	m, err := cluster.Start(ctx, node.ActorSystem(), cc)
	if err != nil {
		return nil, err
	}
	r := &clusterRun{member: m, hub: hub}
	hub.Attach(m, signals.Local{
		Root: node.Root(), ActorID: pid.GetId(), Name: c.Node.Name, Instance: node.InstanceID(),
		Deliver: node.Alerts().Send, PublishMin: c.Algedonic.PublishMin,
	})
	r.unsub = node.Subscribe(func(ev vsm.Event) { hub.OnMembership(ev) })
	if !(c.Redis.Enabled() && c.Algedonic.Remote) {
		if err := node.AddReaction(ctx, "cluster-alerts", hub.Reaction()); err != nil {
			return nil, errors.Join(err, r.stop(context.WithoutCancel(ctx)))
		}
	}
	return r, nil
}

// stop leaves the cluster: the hub first (it sends nothing more), then
// the membership.
func (r *clusterRun) stop(ctx context.Context) error {
	if r == nil {
		return nil
	}
	if r.unsub != nil {
		r.unsub()
	}
	r.hub.Detach()
	return r.member.Stop(ctx)
}

// clusterView is the body of GET /api/v1/cluster.
type clusterView struct {
	Enabled bool               `json:"enabled"`
	Self    *cluster.Member    `json:"self,omitempty"`
	Members []cluster.Member   `json:"members"`
	Signals *signals.StatsView `json:"signals,omitempty"`
}

// clusterRoutes serves GET /api/v1/cluster: the members as this node sees
// them (name, instance id, address, status, last seen) and the counters
// of the cluster-wide signals; enabled false and no members when the node
// runs alone.
func clusterRoutes(r *clusterRun) []admin.Route {
	return []admin.Route{{Pattern: "GET /api/v1/cluster", Handler: func(w http.ResponseWriter, _ *http.Request) {
		v := clusterView{Members: []cluster.Member{}}
		if r != nil {
			self := r.member.Self()
			st := r.hub.Stats()
			v.Enabled, v.Self, v.Members, v.Signals = true, &self, r.member.Members(), &st
		}
		admin.WriteJSON(w, http.StatusOK, v)
	}}}
}
