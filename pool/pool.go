package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by Get and Resize; match them with errors.Is.
var (
	// ErrClosed: the pool was closed before or while waiting.
	ErrClosed = errors.New("pool: closed")
	// ErrTimeout: no resource became free within Config.Timeout.
	ErrTimeout = errors.New("pool: checkout timed out")
	// ErrInvalidSize: a size below 1 was asked for.
	ErrInvalidSize = errors.New("pool: size must be at least 1")
)

// Defaults applied to a zero Config field.
const (
	DefaultSize    = 10
	DefaultTimeout = 5 * time.Second
)

// Factory makes and closes the pooled resources. New is called with the
// caller's context of the Get that needs a resource, outside any lock. Close
// is called outside any lock too, on the goroutine that gave the resource
// up.
type Factory[R any] interface {
	New(ctx context.Context) (R, error)
	Close(r R) error
}

// HealthChecker is an optional Factory extension: a resource taken from the
// idle stack (or handed over by another caller) for which Healthy returns
// false is closed and replaced. It runs on every reuse, so keep it cheap.
type HealthChecker[R any] interface {
	Healthy(r R) bool
}

// Funcs adapts plain functions to a Factory (and, when HealthyFunc is set,
// a HealthChecker). A nil CloseFunc closes nothing.
type Funcs[R any] struct {
	NewFunc     func(ctx context.Context) (R, error)
	CloseFunc   func(r R) error
	HealthyFunc func(r R) bool
}

// New calls NewFunc.
func (f Funcs[R]) New(ctx context.Context) (R, error) { return f.NewFunc(ctx) }

// Close calls CloseFunc when set.
func (f Funcs[R]) Close(r R) error {
	if f.CloseFunc == nil {
		return nil
	}
	return f.CloseFunc(r)
}

// Healthy calls HealthyFunc, or reports true when it is nil.
func (f Funcs[R]) Healthy(r R) bool { return f.HealthyFunc == nil || f.HealthyFunc(r) }

var (
	_ Factory[int]       = Funcs[int]{}
	_ HealthChecker[int] = Funcs[int]{}
)

// Config sizes a pool. The zero value of each field means its default.
type Config struct {
	// Size is the most resources in use at once. Default 10.
	Size int
	// Timeout bounds how long Get waits for a free slot (it does not bound
	// Factory.New, which gets the caller's context). Default 5s; negative
	// means wait as long as the caller's context allows.
	Timeout time.Duration
	// MaxIdle caps the idle resources kept for reuse. Default (0) and any
	// value above Size follow Size, also across Resize.
	MaxIdle int
	// IdleTimeout closes a resource that sat idle longer than this, found
	// lazily at checkout or by Reap. Zero keeps idle resources forever.
	IdleTimeout time.Duration
	// Now is the clock for IdleTimeout; nil means time.Now. For tests.
	Now func() time.Time
}

// Pool is a bounded pool of resources of type R. All methods are safe for
// concurrent use.
type Pool[R any] struct {
	f       Factory[R]
	healthy func(R) bool // nil when the factory has no HealthChecker
	timeout time.Duration
	maxIdle int // configured; 0 follows size
	idleTTL time.Duration
	now     func() time.Time

	mu      sync.Mutex
	size    int
	inUse   int        // slots checked out or being created
	idle    []*item[R] // LIFO: idle[len-1] is the most recently released
	waiters waitQueue[R]
	closed  bool

	// Counters are atomics so Stats never takes the lock for them; the
	// ones bumped on the fast path are bumped while the lock is held, so
	// their cache line is already ours.
	timeouts     atomic.Uint64
	discarded    atomic.Uint64
	created      atomic.Uint64
	createErrors atomic.Uint64
	closedN      atomic.Uint64
	hist         histogram

	testHookQueued func() // called after a Get joins the wait queue
}

type item[R any] struct {
	p    *Pool[R]
	r    R
	gen  uint64    // bumped at every release; guarded by p.mu
	used time.Time // last release, kept only when IdleTimeout > 0
}

// New returns a pool that makes resources with f. It makes none up front.
func New[R any](cfg Config, f Factory[R]) (*Pool[R], error) {
	if f == nil {
		return nil, errors.New("pool: nil factory")
	}
	if cfg.Size < 0 {
		return nil, fmt.Errorf("%w: %d", ErrInvalidSize, cfg.Size)
	}
	if cfg.Size == 0 {
		cfg.Size = DefaultSize
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxIdle < 0 {
		return nil, fmt.Errorf("pool: MaxIdle %d is negative", cfg.MaxIdle)
	}
	if cfg.IdleTimeout < 0 {
		return nil, fmt.Errorf("pool: IdleTimeout %v is negative", cfg.IdleTimeout)
	}
	p := &Pool[R]{
		f:       f,
		timeout: cfg.Timeout,
		maxIdle: cfg.MaxIdle,
		idleTTL: cfg.IdleTimeout,
		now:     cfg.Now,
		size:    cfg.Size,
		idle:    make([]*item[R], 0, cfg.Size),
	}
	if p.now == nil {
		p.now = time.Now
	}
	if hc, ok := f.(HealthChecker[R]); ok {
		p.healthy = hc.Healthy
	}
	return p, nil
}

// Lease is one checkout of a resource. It is a small value, not a pointer,
// so a checkout allocates nothing; its generation makes a second Release or
// Discard of the same lease a harmless no-op even after the resource went
// to another caller. The zero Lease (from a failed Get) releases nothing.
type Lease[R any] struct {
	it   *item[R]
	gen  uint64
	wait time.Duration
}

// Value returns the resource. Do not use it after Release or Discard.
func (l Lease[R]) Value() R {
	if l.it == nil {
		var zero R
		return zero
	}
	return l.it.r
}

// Wait is how long Get took: zero when an idle resource was at hand, else
// the time spent queued and creating the resource.
func (l Lease[R]) Wait() time.Duration { return l.wait }

// Release gives a healthy resource back for reuse.
func (l Lease[R]) Release() {
	if l.it != nil {
		l.it.p.put(l.it, l.gen, false)
	}
}

// Discard gives back a broken resource: it is closed and a new one is made
// when next needed.
func (l Lease[R]) Discard() {
	if l.it != nil {
		l.it.p.put(l.it, l.gen, true)
	}
}

// grant is what a waiter is handed: a resource, a bare slot (it == nil and
// err == nil: create a resource) or an error.
type grant[R any] struct {
	it  *item[R]
	err error
}

type waiter[R any] struct {
	ch         chan grant[R] // capacity 1: granting never blocks
	prev, next *waiter[R]
	queued     bool
}

// waitQueue is an intrusive FIFO so a timed-out waiter leaves in O(1).
type waitQueue[R any] struct {
	head, tail *waiter[R]
	n          int
}

func (q *waitQueue[R]) push(w *waiter[R]) {
	w.queued = true
	w.prev = q.tail
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.n++
}

func (q *waitQueue[R]) remove(w *waiter[R]) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
	q.n--
}

func (q *waitQueue[R]) pop() *waiter[R] {
	w := q.head
	if w != nil {
		q.remove(w)
	}
	return w
}

// Get checks a resource out, waiting in FIFO order for a free slot when all
// Size are in use. It fails with ErrTimeout after Config.Timeout, with the
// context's error when ctx ends first, with ErrClosed once the pool is
// closed, or with the Factory's error when a new resource cannot be made.
// Every successful Get must be followed by exactly one Release or Discard.
func (p *Pool[R]) Get(ctx context.Context) (Lease[R], error) {
	if err := ctx.Err(); err != nil {
		return Lease[R]{}, fmt.Errorf("pool: checkout: %w", err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return Lease[R]{}, ErrClosed
	}
	if p.waiters.n == 0 && p.inUse < p.size {
		p.inUse++
		it := p.popIdleLocked()
		p.mu.Unlock()
		if it != nil && p.usable(it) {
			// The fast path: no clock read, counted as a zero wait.
			p.hist.observe(0)
			return Lease[R]{it: it, gen: it.gen}, nil
		}
		start := time.Now()
		if it != nil {
			p.closeItem(it, true)
		}
		return p.fill(ctx, start)
	}

	w := &waiter[R]{ch: make(chan grant[R], 1)}
	p.waiters.push(w)
	p.mu.Unlock()
	if p.testHookQueued != nil {
		p.testHookQueued()
	}

	start := time.Now()
	var expired <-chan time.Time
	if p.timeout > 0 {
		t := time.NewTimer(p.timeout)
		defer t.Stop()
		expired = t.C
	}
	var err error
	select {
	case g := <-w.ch:
		return p.accept(ctx, g, start)
	case <-ctx.Done():
		err = fmt.Errorf("pool: checkout: %w", ctx.Err())
	case <-expired:
		err = fmt.Errorf("%w after %v", ErrTimeout, p.timeout)
		p.timeouts.Add(1)
	}
	p.mu.Lock()
	if w.queued {
		p.waiters.remove(w)
		p.mu.Unlock()
		return Lease[R]{}, err
	}
	p.mu.Unlock()
	// Served while giving up: the grant is already in the channel. Pass
	// it on rather than keep a slot the caller no longer wants.
	p.giveBack(<-w.ch)
	return Lease[R]{}, err
}

// accept turns a waiter's grant into a lease.
func (p *Pool[R]) accept(ctx context.Context, g grant[R], start time.Time) (Lease[R], error) {
	if g.err != nil {
		return Lease[R]{}, g.err
	}
	if g.it != nil {
		if p.usable(g.it) {
			wait := time.Since(start)
			p.hist.observe(wait)
			return Lease[R]{it: g.it, gen: g.it.gen, wait: wait}, nil
		}
		p.closeItem(g.it, true)
	}
	return p.fill(ctx, start)
}

// fill runs holding a slot and no resource: it takes the next usable idle
// resource or makes a new one, giving the slot back on failure.
func (p *Pool[R]) fill(ctx context.Context, start time.Time) (Lease[R], error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.inUse--
			p.mu.Unlock()
			return Lease[R]{}, ErrClosed
		}
		it := p.popIdleLocked()
		p.mu.Unlock()
		if it == nil {
			break
		}
		if p.usable(it) {
			wait := time.Since(start)
			p.hist.observe(wait)
			return Lease[R]{it: it, gen: it.gen, wait: wait}, nil
		}
		p.closeItem(it, true)
	}
	r, err := p.f.New(ctx)
	if err != nil {
		p.createErrors.Add(1)
		p.mu.Lock()
		p.inUse--
		p.grantLocked()
		p.mu.Unlock()
		return Lease[R]{}, fmt.Errorf("pool: new resource: %w", err)
	}
	p.created.Add(1)
	it := &item[R]{p: p, r: r}
	wait := time.Since(start)
	p.hist.observe(wait)
	return Lease[R]{it: it, gen: it.gen, wait: wait}, nil
}

// usable reports whether an idle resource may be handed out; an expired or
// unhealthy one is not.
func (p *Pool[R]) usable(it *item[R]) bool {
	if p.idleTTL > 0 && !it.used.IsZero() && p.now().Sub(it.used) > p.idleTTL {
		return false
	}
	return p.healthy == nil || p.healthy(it.r)
}

// closeItem closes a resource outside the lock; broken ones count as
// discarded.
func (p *Pool[R]) closeItem(it *item[R], broken bool) {
	if broken {
		p.discarded.Add(1)
	}
	p.closedN.Add(1)
	_ = p.f.Close(it.r) // the resource is gone either way; nothing to tell the caller
}

func (p *Pool[R]) popIdleLocked() *item[R] {
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	it := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	return it
}

// dropOldestLocked removes the k oldest idle resources (the bottom of the
// stack) and returns them for closing outside the lock. It shifts the rest
// down rather than reslicing so the stack keeps its capacity and Release
// does not allocate later.
func (p *Pool[R]) dropOldestLocked(k int) []*item[R] {
	if k == 0 {
		return nil
	}
	out := make([]*item[R], k)
	copy(out, p.idle[:k])
	n := copy(p.idle, p.idle[k:])
	clear(p.idle[n:])
	p.idle = p.idle[:n]
	return out
}

func (p *Pool[R]) maxIdleLocked() int {
	if p.maxIdle == 0 || p.maxIdle > p.size {
		return p.size
	}
	return p.maxIdle
}

// grantLocked hands free slots to waiters, oldest first, with an idle
// resource when one is at hand.
func (p *Pool[R]) grantLocked() {
	for p.waiters.n > 0 && p.inUse < p.size {
		w := p.waiters.pop()
		p.inUse++
		w.ch <- grant[R]{it: p.popIdleLocked()}
	}
}

// put is Release (broken false) and Discard (broken true).
func (p *Pool[R]) put(it *item[R], gen uint64, broken bool) {
	p.mu.Lock()
	if it.gen != gen {
		p.mu.Unlock()
		return // second release of the same lease
	}
	it.gen++
	switch {
	case broken || p.closed || p.inUse > p.size:
		// Above size only after a shrink: this slot is not given again.
		p.inUse--
		p.grantLocked()
		p.mu.Unlock()
		p.closeItem(it, broken)
		return
	case p.waiters.n > 0:
		w := p.waiters.pop()
		w.ch <- grant[R]{it: it} // the slot goes with it: inUse unchanged
		p.mu.Unlock()
		return
	}
	p.inUse--
	if len(p.idle) < p.maxIdleLocked() && p.inUse+len(p.idle) < p.size {
		if p.idleTTL > 0 {
			it.used = p.now()
		}
		p.idle = append(p.idle, it)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.closeItem(it, false)
}

// giveBack returns a grant that a waiter received after giving up.
func (p *Pool[R]) giveBack(g grant[R]) {
	switch {
	case g.err != nil:
	case g.it != nil:
		p.put(g.it, g.it.gen, false)
	default:
		p.mu.Lock()
		p.inUse--
		p.grantLocked()
		p.mu.Unlock()
	}
}

// Resize changes Size. Growing serves queued waiters at once; shrinking
// closes surplus idle resources now and resources in use as they come
// back, so nothing in flight fails. Until a shrink drains, InUse may stay
// above the new Size, but no new checkout starts while it does.
func (p *Pool[R]) Resize(n int) error {
	if n < 1 {
		return fmt.Errorf("%w: %d", ErrInvalidSize, n)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.size = n
	k := 0
	for k < len(p.idle) && (p.inUse+len(p.idle)-k > n || len(p.idle)-k > p.maxIdleLocked()) {
		k++
	}
	surplus := p.dropOldestLocked(k)
	p.grantLocked()
	p.mu.Unlock()
	for _, it := range surplus {
		p.closeItem(it, false)
	}
	return nil
}

// Reap closes idle resources older than Config.IdleTimeout and returns how
// many it closed. Get finds expired ones lazily; an owner calls Reap on a
// timer so a quiet pool does not hold connections forever.
func (p *Pool[R]) Reap() int {
	if p.idleTTL <= 0 {
		return 0
	}
	now := p.now()
	p.mu.Lock()
	// The stack is ordered by release time, oldest at the bottom.
	k := 0
	for k < len(p.idle) && now.Sub(p.idle[k].used) > p.idleTTL {
		k++
	}
	old := p.dropOldestLocked(k)
	p.mu.Unlock()
	for _, it := range old {
		p.closeItem(it, false)
	}
	return len(old)
}

// Close closes the idle resources, fails every waiter with ErrClosed and
// makes later Gets fail; resources in use are closed when given back. It
// returns the errors of closing idle resources, and nil on later calls.
func (p *Pool[R]) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	for w := p.waiters.pop(); w != nil; w = p.waiters.pop() {
		w.ch <- grant[R]{err: ErrClosed}
	}
	p.mu.Unlock()
	var errs []error
	for _, it := range idle {
		p.closedN.Add(1)
		if err := p.f.Close(it.r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stats is a point-in-time view of a pool. The gauges are read together
// under the lock; the counters are cumulative since New.
type Stats struct {
	Size    int `json:"size"`
	InUse   int `json:"in_use"`
	Idle    int `json:"idle"`
	Waiting int `json:"waiting"`
	// Checkouts counts successful Gets (the sum of the Wait buckets).
	Checkouts uint64 `json:"checkouts"`
	// Timeouts counts Gets that gave up after Config.Timeout.
	Timeouts uint64 `json:"timeouts"`
	// Discarded counts resources closed as broken: Discard, or Healthy
	// false, or expired by IdleTimeout at checkout.
	Discarded uint64 `json:"discarded"`
	// Created and Closed count resources made and closed; their difference
	// is the number open now.
	Created      uint64 `json:"created"`
	Closed       uint64 `json:"closed"`
	CreateErrors uint64 `json:"create_errors"`
	// Wait is the checkout wait histogram.
	Wait Histogram `json:"wait"`
}

// Stats returns the current figures.
func (p *Pool[R]) Stats() Stats {
	p.mu.Lock()
	s := Stats{Size: p.size, InUse: p.inUse, Idle: len(p.idle), Waiting: p.waiters.n}
	p.mu.Unlock()
	s.Timeouts = p.timeouts.Load()
	s.Discarded = p.discarded.Load()
	s.Created = p.created.Load()
	s.Closed = p.closedN.Load()
	s.CreateErrors = p.createErrors.Load()
	s.Wait = p.hist.snapshot()
	s.Checkouts = s.Wait.Count
	return s
}

// Size returns the current size limit.
func (p *Pool[R]) Size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size
}
