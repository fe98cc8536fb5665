package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/grpcpool"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/actors/ws"
	"github.com/viable-systems/vsm-connections/config"
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
	// Member, when set, runs the call through that cluster member's pool
	// actor instead of this node's (see WithRemotePools).
	Member string `json:"member,omitempty"`
	// Timeout bounds a call on another member ("2s"); default
	// DefaultRemoteTimeout. A local call is bounded by the pool's timeout.
	Timeout string `json:"timeout,omitempty"`
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

// errBadCall is matched by a PoolCall refused before it is sent.
var errBadCall = errors.New("bad pool call")

// remoteCall runs req through pool's actor on call.Member.
func remoteCall(ctx context.Context, rp RemotePools, pool string, call PoolCall, req httppool.Request) (*httppool.Response, error) {
	d, err := remoteTimeout(call.Timeout)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadCall, err)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return rp.PoolRequest(ctx, call.Member, pool, &httppool.DoRequest{Method: req.Method, URL: req.URL, Header: req.Header, Body: req.Body})
}

// MaxPoolSize bounds a resize through the API.
const MaxPoolSize = 100000

// WebSocketPoolStats is a WebSocket pool in GET /api/v1/pools: its
// connections' counters and sums (ws.PoolStats) with the protocol, so that
// a list mixing protocols can be told apart.
type WebSocketPoolStats struct {
	Protocol string `json:"protocol"` // "websocket"
	Breaker  string `json:"breaker,omitempty"`
	ws.PoolStats
}

// GRPCPoolStats is a gRPC pool in GET /api/v1/pools: its ClientConns,
// streams in flight, advertised stream limit, calls by code, retries
// (grpcpool.Stats) with the protocol.
type GRPCPoolStats struct {
	Protocol string `json:"protocol"` // "grpc"
	Breaker  string `json:"breaker,omitempty"`
	grpcpool.Stats
}

// poolEntry is one pool of any protocol, for the listing.
type poolEntry struct {
	name  string
	stats func() any
}

// allPools lists every pool of the node, HTTP, WebSocket and gRPC, sorted
// by name (the names are unique across protocols).
func allPools(n *vsm.Node) []poolEntry {
	var out []poolEntry
	for _, p := range n.Pools() {
		out = append(out, poolEntry{p.Name(), func() any { return p.Stats() }})
	}
	for _, p := range n.WebSockets() {
		out = append(out, poolEntry{p.Name(), func() any { return webSocketStats(n, p) }})
	}
	for _, ch := range n.GRPCs() {
		out = append(out, poolEntry{ch.Name(), func() any { return grpcStats(ch) }})
	}
	slices.SortFunc(out, func(a, b poolEntry) int { return strings.Compare(a.name, b.name) })
	return out
}

func webSocketStats(n *vsm.Node, p *ws.Pool) WebSocketPoolStats {
	return WebSocketPoolStats{Protocol: config.ProtocolWebSocket, Breaker: n.Config().Pools[p.Name()].CircuitBreaker, PoolStats: p.Stats()}
}

func grpcStats(ch *grpcpool.Channel) GRPCPoolStats {
	st := GRPCPoolStats{Protocol: config.ProtocolGRPC, Stats: ch.Stats()}
	if b := ch.Config().Breaker; b != nil {
		st.Breaker = b.Name()
	}
	return st
}

// poolStats is the stats and protocol of the pool called name, of any
// protocol.
func poolStats(n *vsm.Node, name string) (any, string, bool) {
	if p, ok := n.Pool(name); ok {
		return p.Stats(), config.ProtocolHTTP, true
	}
	if p, ok := n.WebSocket(name); ok {
		return webSocketStats(n, p), config.ProtocolWebSocket, true
	}
	if ch, ok := n.GRPC(name); ok {
		return grpcStats(ch), config.ProtocolGRPC, true
	}
	return nil, "", false
}

// PoolRoutes are the connection pool endpoints:
//
//	GET  /api/v1/pools           every pool's stats (a JSON list sorted by name, each
//	                             with "name" and "protocol": http, websocket, grpc)
//	GET  /api/v1/pools/{name}    one pool's stats
//	POST /api/v1/pools/{name}    {"size": 15} → resized (update_pool), 200 new stats;
//	                             400 for a bad body or size, 404 for an unknown pool
//	POST /api/v1/pools/{name}/request  {"method": "GET", "path": "/healthz"} → the node
//	                             makes the call through the pool (breaker, retry,
//	                             balancing): 200 with {"status", "header", "body",
//	                             ...}, or 502 with the error. Only paths relative to
//	                             the pool's endpoints: the API cannot be used to
//	                             reach anything the pool is not configured for.
//	                             With "member": "n3" (WithRemotePools) the call runs
//	                             through that member's pool actor over the cluster
//	                             (404 for an unknown member or pool there, 504 when
//	                             "timeout", default 10s, passes first).
//
// The two POSTs are for HTTP pools; on a WebSocket or gRPC pool they answer
// 400 saying so.
//
// Reads use the pool's handle; a resize goes through System 3 and the pool
// actor, which publishes event.PoolResized.
func PoolRoutes(n *vsm.Node, opts ...PoolOption) []Route {
	var pr poolRoutes
	for _, o := range opts {
		o.applyPool(&pr)
	}
	find := func(w http.ResponseWriter, r *http.Request) (*vsm.Pool, bool) {
		name := r.PathValue("name")
		p, ok := n.Pool(name)
		switch _, protocol, other := poolStats(n, name); {
		case ok:
		case other:
			WriteError(w, http.StatusBadRequest, fmt.Errorf("pool %q is a %s pool: only http pools are resized or called through the API", name, protocol))
		default:
			WriteError(w, http.StatusNotFound, fmt.Errorf("no pool %q", name))
		}
		return p, ok
	}
	return []Route{
		{"POST /api/v1/pools/{name}/request", func(w http.ResponseWriter, r *http.Request) {
			var call PoolCall
			if err := DecodeJSON(w, r, &call); err != nil {
				WriteError(w, http.StatusBadRequest, err)
				return
			}
			var p *vsm.Pool
			if call.Member == "" {
				// The pool may exist only on the member: look it up here
				// only for a local call.
				var ok bool
				if p, ok = find(w, r); !ok {
					return
				}
			} else if pr.remote == nil {
				WriteError(w, http.StatusBadRequest, errors.New(`"member" needs a cluster: this node is in none`))
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
			var resp *httppool.Response
			var err error
			if call.Member == "" {
				resp, err = p.Do(r.Context(), req)
			} else {
				if resp, err = remoteCall(r.Context(), pr.remote, r.PathValue("name"), call, req); errors.Is(err, errBadCall) {
					WriteError(w, http.StatusBadRequest, err)
					return
				}
			}
			var se *httppool.StatusError
			if errors.As(err, &se) {
				resp, err = se.Response, nil
			}
			switch {
			case errors.Is(err, ErrNotFound):
				WriteError(w, http.StatusNotFound, err)
				return
			case call.Member != "" && errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, httppool.ErrTimeout):
				// The member did not answer in time (it may have died):
				// not the upstream's doing, unlike a pool timeout.
				WriteError(w, http.StatusGatewayTimeout, err)
				return
			case err != nil:
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
			ps := allPools(n)
			out := make([]any, 0, len(ps))
			for _, p := range ps {
				out = append(out, p.stats())
			}
			WriteJSON(w, http.StatusOK, out)
		}},
		{"GET /api/v1/pools/{name}", func(w http.ResponseWriter, r *http.Request) {
			name := r.PathValue("name")
			st, _, ok := poolStats(n, name)
			if !ok {
				WriteError(w, http.StatusNotFound, fmt.Errorf("no pool %q", name))
				return
			}
			WriteJSON(w, http.StatusOK, st)
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
