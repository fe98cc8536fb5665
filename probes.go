package vsm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/viable-systems/vsm-connections/breaker"
)

// ShutdownCheck is the name of the readiness check that fails from the
// moment Stop begins, so that a load balancer stops sending work before the
// node's parts go away. It is always the first check.
const ShutdownCheck = "shutdown"

var (
	// ErrNotReady is matched by errors.Is for every failing built-in
	// readiness check.
	ErrNotReady = errors.New("vsm: not ready")
	// ErrCheckExists is returned by AddReadinessCheck for a name already
	// in use.
	ErrCheckExists = errors.New("vsm: readiness check already exists")
)

// ReadinessCheck is one named condition of the node's readiness (what the
// admin API's GET /readyz reports). Check returns nil when the condition
// holds; it must honour ctx and be quick, as probes call it every few
// seconds.
type ReadinessCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// probeSet holds the readiness checks added in code; its zero value is
// ready to use, so Node needs no constructor change for it.
type probeSet struct {
	mu     sync.Mutex
	checks []ReadinessCheck
}

// Stopping reports whether Stop has begun (or finished). It turns true at
// the very start of Stop, before any part of the node stops.
func (n *Node) Stopping() bool { return n.isStopped() }

// AddReadinessCheck adds a named check to the node's readiness, after the
// ones from the config (admin.readiness). A later part of the node, or the
// service embedding it, adds its own dependencies this way. The name must
// be non-empty and unused (ErrCheckExists); it is what ?exclude= names.
func (n *Node) AddReadinessCheck(name string, check func(ctx context.Context) error) error {
	if name == "" || check == nil {
		return errors.New("vsm: a readiness check needs a name and a func")
	}
	if n.isStopped() {
		return ErrStopped
	}
	if name == ShutdownCheck || slices.ContainsFunc(n.configChecks(), func(c ReadinessCheck) bool { return c.Name == name }) {
		return fmt.Errorf("%w: %q", ErrCheckExists, name)
	}
	n.probes.mu.Lock()
	defer n.probes.mu.Unlock()
	if slices.ContainsFunc(n.probes.checks, func(c ReadinessCheck) bool { return c.Name == name }) {
		return fmt.Errorf("%w: %q", ErrCheckExists, name)
	}
	n.probes.checks = append(n.probes.checks, ReadinessCheck{Name: name, Check: check})
	return nil
}

// ReadinessChecks returns the node's readiness checks in the order they are
// reported: ShutdownCheck, then the checks of admin.readiness ("redis",
// then "breaker/<name>" in the order listed), then those added with
// AddReadinessCheck. The node is ready when every one returns nil.
func (n *Node) ReadinessChecks() []ReadinessCheck {
	out := []ReadinessCheck{{Name: ShutdownCheck, Check: n.notStopping}}
	out = append(out, n.configChecks()...)
	n.probes.mu.Lock()
	out = append(out, n.probes.checks...)
	n.probes.mu.Unlock()
	return out
}

func (n *Node) notStopping(context.Context) error {
	if n.Stopping() {
		return fmt.Errorf("%w: the node is stopping", ErrNotReady)
	}
	return nil
}

// configChecks are the checks admin.readiness asks for. They look breakers
// up on each call: a breaker is the node's for its whole life, but this
// keeps the list free of state to keep in step.
func (n *Node) configChecks() []ReadinessCheck {
	r := n.cfg.Admin.Readiness
	var out []ReadinessCheck
	if r.Redis {
		out = append(out, ReadinessCheck{Name: "redis", Check: n.redisReady})
	}
	for _, name := range r.Breakers {
		out = append(out, ReadinessCheck{Name: "breaker/" + name, Check: func(context.Context) error {
			return n.breakerReady(name)
		}})
	}
	return out
}

// redisReady trusts the health probe's breaker when there is one: it is
// fed every second, and a readiness probe must not add a PING of its own per
// scrape. Without it (no Redis configured, or a store given with
// WithStore) the store is pinged.
func (n *Node) redisReady(ctx context.Context) error {
	if _, ok := n.Breaker(HealthBreaker); ok {
		return n.breakerReady(HealthBreaker)
	}
	st := n.State()
	if st == nil {
		return fmt.Errorf("%w: no state backend", ErrNotReady)
	}
	if err := st.Ping(ctx); err != nil {
		return fmt.Errorf("%w: ping: %w", ErrNotReady, err)
	}
	return nil
}

func (n *Node) breakerReady(name string) error {
	b, ok := n.Breaker(name)
	if !ok {
		return fmt.Errorf("%w: no breaker %q", ErrNotReady, name)
	}
	if b.State() == breaker.Open {
		return fmt.Errorf("%w: breaker %q is open", ErrNotReady, name)
	}
	return nil
}
