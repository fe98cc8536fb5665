package s3

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/pool"
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/systems"
	"github.com/viable-systems/vsm-connections/systems/s1"
)

// Name is System 3's stable name and the prefix of its children's names.
const Name = "s3"

// ErrNotRunning is returned by Resize when the pool's actor is not running
// (its supervisor gave up on it, or it was stopped by hand): nothing else
// may change the size.
var ErrNotRunning = errors.New("s3: pool actor not running")

// Spec is System 3's supervisor, for the node root to start.
func Spec(cfg supervisor.Config, env supervisor.Env, children ...supervisor.ChildSpec) supervisor.ChildSpec {
	return systems.Spec(Name, cfg, env, children...)
}

// Pools is what S3 controls: System 1's pools by name.
type Pools interface {
	Pool(name string) (*s1.Pool, bool)
	Pools() []*s1.Pool
}

var _ Pools = (*s1.S1)(nil)

// S3 is System 3's API, the controller of the resources in use now. It
// keeps no state of its own: the sizes live in the pools, written only by
// their actors, and the stats are read from the pools' handles.
type S3 struct {
	sender actor.SenderContext
	pools  Pools
	// base is a pool's configured size, the reference of a shed; nil or
	// 0: the size the pool was created with.
	base func(name string) int

	mu sync.Mutex
	// set is the size S3 last set per pool, for the S3* audit; busy counts
	// the resizes of a pool in flight, during which the two may differ.
	set  map[string]int
	busy map[string]int
}

// New returns the controller of pools. sender sends the pool actors their
// commands; base, when not nil, gives a pool's configured size.
func New(sender actor.SenderContext, pools Pools, base func(name string) int) *S3 {
	return &S3{sender: sender, pools: pools, base: base, set: map[string]int{}, busy: map[string]int{}}
}

// lastSize is the size S3 last set on the pool; ok is false when S3 never
// resized it, or a resize is in flight.
func (s *S3) lastSize(name string) (n int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok = s.set[name]
	return n, ok && s.busy[name] == 0
}

// Resize sets the pool's size (update_pool) through its actor, the only
// writer of the size, which publishes event.PoolResized, and returns the
// new stats. Requests in flight are not disturbed. Errors match
// httppool.ErrNoPool (no such pool), pool.ErrInvalidSize (size below 1) or
// ErrNotRunning.
func (s *S3) Resize(ctx context.Context, name string, size int) (httppool.Stats, error) {
	if size < 1 {
		return httppool.Stats{}, fmt.Errorf("s3: pool %s: %w: %d", name, pool.ErrInvalidSize, size)
	}
	p, ok := s.pools.Pool(name)
	if !ok {
		return httppool.Stats{}, fmt.Errorf("%w: %q", httppool.ErrNoPool, name)
	}
	pid, ok := p.PID()
	if !ok {
		return httppool.Stats{}, fmt.Errorf("s3: pool %s: actor %s/%s%s: %w", name, s1.Name, s1.PoolPrefix, name, ErrNotRunning)
	}
	s.mu.Lock()
	s.busy[name]++
	s.mu.Unlock()
	st, err := httppool.Resize(ctx, s.sender, pid, size)
	s.mu.Lock()
	s.busy[name]--
	if err == nil {
		s.set[name] = st.Size
	}
	s.mu.Unlock()
	return st, err
}

// PoolStats are every pool's figures, sorted by name (the seed's
// pool_stats()), read from the handles with no mailbox hop.
func (s *S3) PoolStats() []httppool.Stats {
	pools := s.pools.Pools()
	out := make([]httppool.Stats, len(pools))
	for i, p := range pools {
		out[i] = p.Stats()
	}
	return out
}

// Shed shrinks the pool, through its actor, to target(base) slots, where
// base is its configured size (its size when it was created, for a pool
// added in code), unless it is that small already. It returns the sizes
// before and after.
func (s *S3) Shed(ctx context.Context, name string, target func(base int) int) (from, to int, err error) {
	p, ok := s.pools.Pool(name)
	if !ok {
		return 0, 0, fmt.Errorf("%w: %q", httppool.ErrNoPool, name)
	}
	cur := p.Stats().Size
	base := p.Client().Config().Size
	if s.base != nil {
		if b := s.base(name); b > 0 {
			base = b
		}
	}
	want := target(base)
	if cur <= want {
		return cur, cur, nil
	}
	st, err := s.Resize(ctx, name, want)
	if err != nil {
		return cur, cur, err
	}
	return cur, st.Size, nil
}
