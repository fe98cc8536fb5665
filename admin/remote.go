package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/viable-systems/vsm-connections/actors/httppool"
)

// RemotePools runs pool requests on other members of the node's cluster.
// cmd/vsmnode implements it with cluster.Node and httppool.RemoteSend.
type RemotePools interface {
	// PoolRequest runs req through the pool actor of the pool called pool
	// on member, within ctx. An unknown member, or a member without that
	// pool, is an error matching ErrNotFound.
	PoolRequest(ctx context.Context, member, pool string, req *httppool.DoRequest) (*httppool.Response, error)
}

// ErrNotFound is matched by a RemotePools error naming a member or a pool
// that does not exist (answered 404).
var ErrNotFound = errors.New("not found")

// PoolOption configures PoolRoutes.
type PoolOption interface{ applyPool(*poolRoutes) }

type poolOptionFunc func(*poolRoutes)

func (f poolOptionFunc) applyPool(p *poolRoutes) { f(p) }

type poolRoutes struct {
	remote RemotePools
}

// WithRemotePools lets POST /api/v1/pools/{name}/request take a "member":
// the request then runs through that member's pool actor, over the
// cluster. Without it such a request is refused (400).
func WithRemotePools(r RemotePools) PoolOption {
	return poolOptionFunc(func(p *poolRoutes) { p.remote = r })
}

// DefaultRemoteTimeout bounds a request run on another member when the
// call gives no "timeout"; MaxRemoteTimeout bounds any.
const (
	DefaultRemoteTimeout = 10 * time.Second
	MaxRemoteTimeout     = time.Minute
)

// remoteTimeout reads a PoolCall's "timeout".
func remoteTimeout(s string) (time.Duration, error) {
	if s == "" {
		return DefaultRemoteTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > MaxRemoteTimeout {
		return 0, fmt.Errorf(`"timeout" must be a duration in (0, %s], got %q`, MaxRemoteTimeout, s)
	}
	return d, nil
}
