package health

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/supervisor"
)

// Registry names a node's checkers: S4 adds the configured ones before it
// spawns them, code registers custom ones at run time, and any goroutine
// reads their status without a lock (the name map is copy-on-write behind
// an atomic pointer, each status an atomic snapshot).
type Registry struct {
	root *actor.RootContext
	env  Env

	checks atomic.Pointer[map[string]*Checker]
	sup    atomic.Pointer[actor.PID]
	mu     sync.Mutex // serialises writers of checks
}

// NewRegistry returns an empty registry whose checkers share env; root
// sends its requests.
func NewRegistry(root *actor.RootContext, env Env) *Registry {
	r := &Registry{root: root, env: env}
	empty := map[string]*Checker{}
	r.checks.Store(&empty)
	return r
}

// Add registers spec and returns the child spec to spawn it under a
// supervisor (a static child, built before the supervisor starts). The
// child's name is the check's name.
func (r *Registry) Add(spec Spec) (supervisor.ChildSpec, error) {
	c, err := NewChecker(spec, r.env)
	if err != nil {
		return supervisor.ChildSpec{}, err
	}
	if err := r.put(c); err != nil {
		return supervisor.ChildSpec{}, err
	}
	return supervisor.Worker(c.Name(), c.Props()), nil
}

// Supervise names the supervisor Register starts checkers under (S4), and
// learns from it the PIDs of the checkers it spawned from Add's child
// specs, so that Check works for them as soon as Supervise returns (before
// each checker has handled its Started).
func (r *Registry) Supervise(ctx context.Context, sup *actor.PID) error {
	r.sup.Store(sup)
	kids, err := supervisor.List(ctx, r.root, sup)
	if err != nil {
		return fmt.Errorf("health registry: %w", err)
	}
	for _, k := range kids {
		if c, ok := r.get(k.Name); ok && k.PID != nil {
			c.st.pid.CompareAndSwap(nil, k.PID)
		}
	}
	return nil
}

// Register adds a custom check, fn, probed every interval (0: the
// default), and starts it under the registry's supervisor: the seed's
// register_service(name, check, interval). A panic in fn is contained and
// counts as a failure.
func (r *Registry) Register(ctx context.Context, name string, fn func(context.Context) error, interval time.Duration) error {
	if fn == nil {
		return fmt.Errorf("%w %s: nil function", ErrSpec, name)
	}
	return r.Start(ctx, Spec{Name: name, Kind: KindCustom, Probe: ProbeFunc(fn), Interval: interval})
}

// Start adds spec, of any kind, and starts it under the registry's
// supervisor.
func (r *Registry) Start(ctx context.Context, spec Spec) error {
	sup := r.sup.Load()
	if sup == nil {
		return ErrNoSupervisor
	}
	c, err := NewChecker(spec, r.env)
	if err != nil {
		return err
	}
	if err := r.put(c); err != nil {
		return err
	}
	pid, err := supervisor.Start(ctx, r.root, sup, supervisor.Worker(c.Name(), c.Props()))
	if err != nil {
		r.drop(c.Name())
		return fmt.Errorf("health check %s: %w", c.Name(), err)
	}
	// Requests sent now wait behind the actor's Started: Check works at
	// once, without waiting for the actor to publish its PID itself.
	c.st.pid.CompareAndSwap(nil, pid)
	return nil
}

// Remove stops the check name for good (through the registry's supervisor)
// and forgets it.
func (r *Registry) Remove(ctx context.Context, name string) error {
	if _, ok := r.get(name); !ok {
		return fmt.Errorf("%w: %s", ErrUnknownCheck, name)
	}
	sup := r.sup.Load()
	if sup == nil {
		return ErrNoSupervisor
	}
	if err := supervisor.Stop(ctx, r.root, sup, name); err != nil {
		return fmt.Errorf("health check %s: %w", name, err)
	}
	r.drop(name)
	return nil
}

// Check probes name now and returns the result, within ctx. The error is
// about the asking (ErrUnknownCheck, ErrNotRunning, ctx's error); the
// probe's failure is Result.Err.
func (r *Registry) Check(ctx context.Context, name string) (Result, error) {
	c, ok := r.get(name)
	if !ok {
		return Result{}, fmt.Errorf("%w: %s", ErrUnknownCheck, name)
	}
	pid := c.PID()
	if pid == nil {
		return Result{}, fmt.Errorf("%w: %s", ErrNotRunning, name)
	}
	return RunCheck(ctx, r.root, pid)
}

// Status is name's latest snapshot; ok is false for an unknown name.
func (r *Registry) Status(name string) (s Snapshot, ok bool) {
	c, ok := r.get(name)
	if !ok {
		return Snapshot{}, false
	}
	return c.Status(), true
}

// AllStatus is every check's latest snapshot, by name.
func (r *Registry) AllStatus() map[string]Snapshot {
	m := *r.checks.Load()
	out := make(map[string]Snapshot, len(m))
	for name, c := range m {
		out[name] = c.Status()
	}
	return out
}

// Names lists the registered checks, sorted.
func (r *Registry) Names() []string { return slices.Sorted(maps.Keys(*r.checks.Load())) }

// Checker is name's handle.
func (r *Registry) Checker(name string) (*Checker, bool) { return r.get(name) }

func (r *Registry) get(name string) (*Checker, bool) {
	c, ok := (*r.checks.Load())[name]
	return c, ok
}

func (r *Registry) put(c *Checker) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.checks.Load()
	if _, dup := old[c.Name()]; dup {
		return fmt.Errorf("%w: %s", ErrExists, c.Name())
	}
	m := maps.Clone(old)
	m[c.Name()] = c
	r.checks.Store(&m)
	return nil
}

func (r *Registry) drop(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := maps.Clone(*r.checks.Load())
	delete(m, name)
	r.checks.Store(&m)
}
