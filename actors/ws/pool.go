package ws

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/supervisor"
)

// DefaultPoolSize is the number of connections of a pool whose Size is 0.
const DefaultPoolSize = 1

// PoolConfig configures a pool of connections to one service.
type PoolConfig struct {
	// Name names the pool.
	Name string
	// Path is the stable name of the supervisor the connections go under
	// (the node's "s1/pool/<name>", say), so that each connection's name
	// ("<path>/conn/0" ...: events, alerts, stats) is its name in the
	// supervision tree. Default Name.
	Path string
	// Size is how many connections the pool keeps. Default 1.
	Size int
	// Conn configures every connection; its Endpoints are the pool's, in
	// failover order: each connection starts on the first one and moves on
	// when a dial fails.
	Conn Config
	// Supervisor is the restart policy of the pool's own supervisor
	// (Start). Default one-for-one, 3 restarts in 5s.
	Supervisor supervisor.Config
}

// Pool is Size connections to one service, each a supervised actor. Pick
// chooses one: round robin over the open ones when the key is empty,
// always the same one for a key otherwise (sticky: sends with one key stay
// in order on one connection). Safe for concurrent use.
type Pool struct {
	name  string
	conns []*Conn
	next  atomic.Uint64
	cfg   PoolConfig

	root *actor.RootContext
	sup  atomic.Pointer[actor.PID]
}

// NewPool returns a pool whose connections are not started: put
// ChildSpecs under a supervisor of yours, or call Start.
func NewPool(cfg PoolConfig, env Env) (*Pool, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("%w: pool without a name", ErrConfig)
	}
	if cfg.Size < 0 {
		return nil, fmt.Errorf("%w: pool %s: negative size", ErrConfig, cfg.Name)
	}
	if cfg.Size == 0 {
		cfg.Size = DefaultPoolSize
	}
	if cfg.Path == "" {
		cfg.Path = cfg.Name
	}
	p := &Pool{name: cfg.Name, cfg: cfg}
	for i := range cfg.Size {
		c, err := New(cfg.Path+"/conn/"+strconv.Itoa(i), cfg.Conn, env)
		if err != nil {
			return nil, fmt.Errorf("pool %s: %w", cfg.Name, err)
		}
		p.conns = append(p.conns, c)
	}
	return p, nil
}

// Name is the pool's name.
func (p *Pool) Name() string { return p.name }

// Conns are the pool's connections, in order.
func (p *Pool) Conns() []*Conn { return append([]*Conn(nil), p.conns...) }

// ChildSpecs are the connections as workers, named "conn/<i>" (relative to
// the supervisor they are put under).
func (p *Pool) ChildSpecs() []supervisor.ChildSpec {
	specs := make([]supervisor.ChildSpec, len(p.conns))
	for i, c := range p.conns {
		specs[i] = supervisor.Worker("conn/"+strconv.Itoa(i), c.Props())
	}
	return specs
}

// Start spawns, from root, the pool's own supervisor (whose stable name is
// Path) with every connection below it. env is the supervisor's
// (directory, events, alerts).
func (p *Pool) Start(root *actor.RootContext, env supervisor.Env) error {
	if p.sup.Load() != nil {
		return fmt.Errorf("ws: pool %s already started", p.name)
	}
	props := supervisor.Props(p.cfg.Path, p.cfg.Supervisor, env, p.ChildSpecs()...)
	pid, err := root.SpawnNamed(props, "ws/"+p.name)
	if err != nil {
		return fmt.Errorf("ws: start pool %s: %w", p.name, err)
	}
	p.root = root
	p.sup.Store(pid)
	return nil
}

// Supervisor is the PID of the supervisor Start spawned, or nil.
func (p *Pool) Supervisor() *actor.PID { return p.sup.Load() }

// Pick returns the connection for key: the same one for the same non-empty
// key (FNV-1a modulo Size), else the next open one in round robin (or the
// next one, open or not, when none is open, so that its queue takes the
// send).
func (p *Pool) Pick(key string) *Conn {
	n := uint64(len(p.conns))
	if key != "" {
		h := fnv.New64a()
		_, _ = h.Write([]byte(key))
		return p.conns[h.Sum64()%n]
	}
	first := p.next.Add(1) - 1
	for i := range n {
		if c := p.conns[(first+i)%n]; c.connected.Load() {
			return c
		}
	}
	return p.conns[first%n]
}

// Send sends m on Pick(key).
func (p *Pool) Send(ctx context.Context, key string, m Message) error {
	return p.Pick(key).Send(ctx, m)
}

// Subscribe declares m on every connection of the pool.
func (p *Pool) Subscribe(m Message) error {
	var errs []error
	for _, c := range p.conns {
		if err := c.Subscribe(m); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// PoolStats are a pool's counters: each connection's and the sums.
type PoolStats struct {
	Name  string  `json:"name"`
	Size  int     `json:"size"`
	Open  int     `json:"open"`
	Total Stats   `json:"total"`
	Conns []Stats `json:"conns"`
}

// Stats returns the pool's counters now.
func (p *Pool) Stats() PoolStats {
	ps := PoolStats{Name: p.name, Size: len(p.conns), Total: Stats{State: "pool"}}
	for _, c := range p.conns {
		s := c.Stats()
		ps.Conns = append(ps.Conns, s)
		if s.State == Open.String() {
			ps.Open++
		}
		t := &ps.Total
		t.Connects += s.Connects
		t.DialAttempts += s.DialAttempts
		t.DialFailures += s.DialFailures
		t.Sent += s.Sent
		t.Received += s.Received
		t.Queued += s.Queued
		t.Dropped += s.Dropped
		t.QueueFull += s.QueueFull
		t.NotConnected += s.NotConnected
		t.Expired += s.Expired
		t.Abandoned += s.Abandoned
		t.HandlerPanics += s.HandlerPanics
		t.HeartbeatLost += s.HeartbeatLost
		t.Pongs += s.Pongs
	}
	return ps
}

// Close stops the pool's supervisor (if Start spawned it) and closes every
// connection, gracefully, in parallel. It returns once all their
// goroutines have ended, or with ctx's error. Idempotent.
func (p *Pool) Close(ctx context.Context) error {
	if pid := p.sup.Swap(nil); pid != nil {
		// Stopping the actors first means none redials while the
		// connections close.
		if err := stopActor(ctx, p.root, pid); err != nil {
			return err
		}
	}
	errs := make(chan error, len(p.conns))
	for _, c := range p.conns {
		go func() { errs <- c.Close(ctx) }()
	}
	var all []error
	for range p.conns {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// stopActor stops pid and waits until it has stopped, or ctx ends.
func stopActor(ctx context.Context, root *actor.RootContext, pid *actor.PID) error {
	done := make(chan struct{})
	go func() {
		_ = root.StopFuture(pid).Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
