package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/breakeractor"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/admin"
	"github.com/viable-systems/vsm-connections/cluster"
	"github.com/viable-systems/vsm-connections/internal/ask"
)

// remotePools runs admin pool requests on other members (admin.RemotePools).
type remotePools struct{ m *cluster.Node }

var _ admin.RemotePools = remotePools{}

func (r remotePools) PoolRequest(ctx context.Context, member, pool string, req *httppool.DoRequest) (*httppool.Response, error) {
	pid, err := r.m.PID(member, vsm.PoolActorID(pool))
	if err != nil {
		return nil, notFound(err)
	}
	resp, err := httppool.RemoteSend(ctx, r.m, pid, req)
	return resp, notFound(err)
}

// notFound makes a missing member or actor an admin.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, cluster.ErrUnknownMember) || errors.Is(err, ask.ErrNoActor) {
		return fmt.Errorf("%w: %w", admin.ErrNotFound, err)
	}
	return err
}

// remoteRoutes serves GET /api/v1/cluster/members/{member}/breakers/{name}:
// that member's breaker stats, asked in proto form over the cluster (404
// for an unknown member or breaker, 504 when it does not answer within 5s).
func remoteRoutes(m *cluster.Node) []admin.Route {
	return []admin.Route{{Pattern: "GET /api/v1/cluster/members/{member}/breakers/{name}", Handler: func(w http.ResponseWriter, r *http.Request) {
		if m == nil {
			admin.WriteError(w, http.StatusNotFound, errors.New("this node is in no cluster"))
			return
		}
		st, err := remoteBreakerStats(r.Context(), m, r.PathValue("member"), r.PathValue("name"))
		switch {
		case errors.Is(err, admin.ErrNotFound):
			admin.WriteError(w, http.StatusNotFound, err)
		case errors.Is(err, context.DeadlineExceeded):
			admin.WriteError(w, http.StatusGatewayTimeout, err)
		case err != nil:
			admin.WriteError(w, http.StatusBadGateway, err)
		default:
			admin.WriteJSON(w, http.StatusOK, st)
		}
	}}}
}

func remoteBreakerStats(ctx context.Context, m *cluster.Node, member, name string) (any, error) {
	pid, err := m.PID(member, vsm.BreakerActorID(name))
	if err != nil {
		return nil, notFound(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := breakeractor.RemoteStats(ctx, m, pid)
	if err != nil {
		return nil, notFound(err)
	}
	return st, nil
}
