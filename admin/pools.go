package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	httpadapter "github.com/viable-systems/vsm-connections/actors/http"
	"github.com/viable-systems/vsm-connections/pool"
)

// ResizeRequest is the body of POST /api/v1/pools/{name}.
type ResizeRequest struct {
	// Size is the new number of slots (requests in flight at once), at
	// least 1. A pointer, so a body without it is refused, not read as 0.
	Size *int `json:"size"`
}

// MaxPoolSize bounds a resize through the API.
const MaxPoolSize = 100000

// PoolRoutes are the connection pool endpoints:
//
//	GET  /api/v1/pools           every pool's stats (a JSON list, each with "name")
//	GET  /api/v1/pools/{name}    one pool's stats
//	POST /api/v1/pools/{name}    {"size": 15} → resized (update_pool), 200 new stats;
//	                             400 for a bad body or size, 404 for an unknown pool
//
// Reads use the pool's handle; a resize goes through the pool actor, which
// publishes event.PoolResized.
func PoolRoutes(n *vsm.Node) []Route {
	find := func(w http.ResponseWriter, r *http.Request) (*vsm.Pool, bool) {
		name := r.PathValue("name")
		p, ok := n.Pool(name)
		if !ok {
			WriteError(w, http.StatusNotFound, fmt.Errorf("no pool %q", name))
		}
		return p, ok
	}
	return []Route{
		{"GET /api/v1/pools", func(w http.ResponseWriter, _ *http.Request) {
			ps := n.Pools()
			out := make([]httpadapter.Stats, 0, len(ps))
			for _, p := range ps {
				out = append(out, p.Stats())
			}
			WriteJSON(w, http.StatusOK, out)
		}},
		{"GET /api/v1/pools/{name}", func(w http.ResponseWriter, r *http.Request) {
			if p, ok := find(w, r); ok {
				WriteJSON(w, http.StatusOK, p.Stats())
			}
		}},
		{"POST /api/v1/pools/{name}", func(w http.ResponseWriter, r *http.Request) {
			p, ok := find(w, r)
			if !ok {
				return
			}
			var req ResizeRequest
			if err := DecodeJSON(w, r, &req); err != nil {
				WriteError(w, http.StatusBadRequest, err)
				return
			}
			switch {
			case req.Size == nil:
				WriteError(w, http.StatusBadRequest, errors.New(`"size" is required`))
				return
			case *req.Size < 1 || *req.Size > MaxPoolSize:
				WriteError(w, http.StatusBadRequest, fmt.Errorf("size must be in 1..%d, got %d", MaxPoolSize, *req.Size))
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			st, err := p.Resize(ctx, *req.Size)
			switch {
			case errors.Is(err, pool.ErrInvalidSize):
				WriteError(w, http.StatusBadRequest, err)
			case err != nil:
				WriteError(w, http.StatusServiceUnavailable, err)
			default:
				WriteJSON(w, http.StatusOK, st)
			}
		}},
	}
}
