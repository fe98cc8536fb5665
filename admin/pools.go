package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/pool"
)

// ResizeRequest is the body of POST /api/v1/pools/{name}.
type ResizeRequest struct {
	// Size is the new number of slots (requests in flight at once), at
	// least 1. A pointer, so a body without it is refused, not read as 0.
	Size *int `json:"size"`
}

// PoolCall is the body of POST /api/v1/pools/{name}/request: one HTTP
// call made by the node through the pool, to a path of its endpoints.
type PoolCall struct {
	Method string            `json:"method"` // default GET
	Path   string            `json:"path"`   // relative: "/healthz?x=1"
	Header map[string]string `json:"header,omitempty"`
	Body   string            `json:"body,omitempty"`
}

// PoolCallResult is the reply to a PoolCall that got a response.
type PoolCallResult struct {
	Status   int               `json:"status"`
	Header   map[string]string `json:"header"`
	Body     string            `json:"body"`
	Endpoint string            `json:"endpoint"`
	Attempts int               `json:"attempts"`
	Duration time.Duration     `json:"duration_ns"`
}

// MaxPoolSize bounds a resize through the API.
const MaxPoolSize = 100000

// PoolRoutes are the connection pool endpoints:
//
//	GET  /api/v1/pools           every pool's stats (a JSON list, each with "name")
//	GET  /api/v1/pools/{name}    one pool's stats
//	POST /api/v1/pools/{name}    {"size": 15} → resized (update_pool), 200 new stats;
//	                             400 for a bad body or size, 404 for an unknown pool
//	POST /api/v1/pools/{name}/request  {"method": "GET", "path": "/healthz"} → the node
//	                             makes the call through the pool (breaker, retry,
//	                             balancing): 200 with {"status", "header", "body",
//	                             ...}, or 502 with the error. Only paths relative to
//	                             the pool's endpoints: the API cannot be used to
//	                             reach anything the pool is not configured for.
//
// Reads use the pool's handle; a resize goes through System 3 and the pool
// actor, which publishes event.PoolResized.
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
		{"POST /api/v1/pools/{name}/request", func(w http.ResponseWriter, r *http.Request) {
			p, ok := find(w, r)
			if !ok {
				return
			}
			var call PoolCall
			if err := DecodeJSON(w, r, &call); err != nil {
				WriteError(w, http.StatusBadRequest, err)
				return
			}
			if !strings.HasPrefix(call.Path, "/") || strings.HasPrefix(call.Path, "//") {
				WriteError(w, http.StatusBadRequest, errors.New(`"path" must be relative to the pool, starting with one "/"`))
				return
			}
			req := httppool.Request{Method: strings.ToUpper(call.Method), URL: call.Path}
			if call.Body != "" {
				req.Body = []byte(call.Body)
			}
			if len(call.Header) > 0 {
				req.Header = http.Header{}
				for k, v := range call.Header {
					req.Header.Set(k, v)
				}
			}
			start := time.Now()
			resp, err := p.Do(r.Context(), req)
			var se *httppool.StatusError
			if errors.As(err, &se) {
				resp, err = se.Response, nil
			}
			if err != nil {
				WriteError(w, http.StatusBadGateway, err)
				return
			}
			hdr := make(map[string]string, len(resp.Header))
			for k := range resp.Header {
				hdr[k] = resp.Header.Get(k)
			}
			WriteJSON(w, http.StatusOK, PoolCallResult{Status: resp.Status, Header: hdr, Body: string(resp.Body),
				Endpoint: resp.Endpoint, Attempts: resp.Attempts, Duration: time.Since(start)})
		}},
		{"GET /api/v1/pools", func(w http.ResponseWriter, _ *http.Request) {
			ps := n.Pools()
			out := make([]httppool.Stats, 0, len(ps))
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
