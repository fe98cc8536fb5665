package vsm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/systems/s1"
	"github.com/viable-systems/vsm-connections/systems/s3"
)

// PoolPrefix is the prefix of pool actors' names under S1: the pool "api"
// is the actor "s1/pool/api".
const PoolPrefix = s1.PoolPrefix

// Pool is the node's handle on one HTTP pool, System 1's unit (its
// methods Name, Client, Stats and PID are s1.Pool's). Its methods are safe
// for concurrent use; requests go straight to the client (no mailbox hop),
// resizes through System 3 and the pool actor.
type Pool struct {
	*s1.Pool
	n *Node
}

// AddPool makes an HTTP pool from cfg and supervises its actor under S1 as
// "s1/pool/<name>". Unset Breakers, Retry and Events fields get the node's
// (every breaker by name, the fault_tolerance defaults, its event stream).
// Pools from the config are added at Start.
func (n *Node) AddPool(ctx context.Context, cfg httppool.Config) (*Pool, error) {
	if n.isStopped() {
		return nil, ErrStopped
	}
	if n.s1 == nil {
		return nil, ErrNotStarted
	}
	p, err := n.s1.AddPool(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Pool{Pool: p, n: n}, nil
}

// Pool returns the pool called name.
func (n *Node) Pool(name string) (*Pool, bool) {
	if n.s1 == nil {
		return nil, false
	}
	p, ok := n.s1.Pool(name)
	if !ok {
		return nil, false
	}
	return &Pool{Pool: p, n: n}, true
}

// Pools returns every pool, sorted by name.
func (n *Node) Pools() []*Pool {
	if n.s1 == nil {
		return nil
	}
	ps := n.s1.Pools()
	out := make([]*Pool, len(ps))
	for i, p := range ps {
		out[i] = &Pool{Pool: p, n: n}
	}
	return out
}

// PoolStats are every pool's figures, sorted by name (the seed's
// pool_stats()), from System 3.
func (n *Node) PoolStats() []httppool.Stats {
	if n.s3 == nil {
		return nil
	}
	return n.s3.PoolStats()
}

// ResizePool resizes the pool called name through System 3 and the pool
// actor (update_pool); see Pool.Resize.
func (n *Node) ResizePool(ctx context.Context, name string, size int) (httppool.Stats, error) {
	if n.isStopped() {
		return httppool.Stats{}, ErrStopped
	}
	if n.s3 == nil {
		return httppool.Stats{}, ErrNotStarted
	}
	st, err := n.s3.Resize(ctx, name, size)
	if errors.Is(err, s3.ErrNotRunning) {
		// Its supervisor gave up on it (or it was stopped by hand).
		err = fmt.Errorf("vsm: %w: %w", ErrNotFound, err)
	}
	return st, err
}

// Resize resizes the pool through System 3 and its actor (update_pool),
// which publishes an event.PoolResized, and returns the new stats.
// Requests in flight are not disturbed. A size below 1 fails with an error
// matching pool.ErrInvalidSize; a pool whose actor is not running with one
// matching ErrNotFound.
func (p *Pool) Resize(ctx context.Context, size int) (httppool.Stats, error) {
	return p.n.ResizePool(ctx, p.Name(), size)
}

// Do sends req through this pool (req.Pool is ignored).
func (p *Pool) Do(ctx context.Context, req httppool.Request) (*httppool.Response, error) {
	if p.n.isStopped() {
		return nil, ErrStopped
	}
	return p.Pool.Do(ctx, req)
}

// Request makes an HTTP call through the pool req.Pool (the seed's
// request(:http, url:, method:, pool:, circuit_breaker:)). With no pool
// named, an absolute URL goes through the pool one of whose endpoints is
// its host:port (System 1 routes it). See httppool.Client.Do for the path
// and the errors.
func (n *Node) Request(ctx context.Context, req httppool.Request) (*httppool.Response, error) {
	if n.isStopped() {
		return nil, ErrStopped
	}
	if n.s1 == nil {
		return nil, ErrNotStarted
	}
	return n.s1.Request(ctx, req)
}

// Get is Request with GET.
func (n *Node) Get(ctx context.Context, pool, path string) (*httppool.Response, error) {
	return n.Request(ctx, httppool.Request{Method: http.MethodGet, URL: path, Pool: pool})
}

// Post sends v as JSON (Content-Type application/json) with POST. POST is
// not retried unless asked: use Request with Retry for that.
func (n *Node) Post(ctx context.Context, pool, path string, v any) (*httppool.Response, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("vsm: post %s: encode body: %w", path, err)
	}
	return n.Request(ctx, httppool.Request{
		Method: http.MethodPost, URL: path, Pool: pool, Body: buf.Bytes(),
		Header: http.Header{"Content-Type": {"application/json"}},
	})
}
