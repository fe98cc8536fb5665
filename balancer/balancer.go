package balancer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNoEndpoint: there are no endpoints, or every one is ejected.
var ErrNoEndpoint = errors.New("balancer: no endpoint available")

// ErrUnknownEndpoint is returned by Hold and Release for an address not in
// the set.
var ErrUnknownEndpoint = errors.New("balancer: unknown endpoint")

// Policy chooses how Pick spreads requests.
type Policy int

// The policies.
const (
	// RoundRobin takes the endpoints in rotation in turn.
	RoundRobin Policy = iota
	// P2C takes the one with fewer requests in flight of two distinct
	// endpoints sampled at random (power of two choices).
	P2C
)

// String returns the policy's configuration name.
func (p Policy) String() string {
	switch p {
	case RoundRobin:
		return "round_robin"
	case P2C:
		return "p2c"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy maps a configuration name to a Policy; "" means RoundRobin.
func ParsePolicy(name string) (Policy, error) {
	switch name {
	case "", "round_robin":
		return RoundRobin, nil
	case "p2c":
		return P2C, nil
	}
	return 0, fmt.Errorf("balancer: unknown load balancing policy %q (want round_robin or p2c)", name)
}

// Defaults applied to zero Config fields.
const (
	DefaultConsecutiveFailures = 5
	DefaultBaseEjectionTime    = 30 * time.Second
	DefaultMaxEjectionTime     = 300 * time.Second
	DefaultMaxEjectionPercent  = 50
)

// Config tunes a Balancer. The zero value of each field means its default.
type Config struct {
	Policy Policy
	// ConsecutiveFailures in a row eject an endpoint. Default 5; negative
	// disables ejection.
	ConsecutiveFailures int
	// BaseEjectionTime is multiplied by the number of times the endpoint
	// has been ejected. Default 30s.
	BaseEjectionTime time.Duration
	// MaxEjectionTime caps one ejection. Default the larger of 300s and
	// BaseEjectionTime (as Envoy).
	MaxEjectionTime time.Duration
	// MaxEjectionPercent caps the share of endpoints ejected at once (see
	// the package doc for the exact rule). Default 50; at most 100.
	MaxEjectionPercent int
	// Listener, when set, hears of every ejection and restoration. It is
	// called outside any lock and must not block.
	Listener func(Notification)
	// Now is the clock; nil means time.Now. For tests.
	Now func() time.Time
	// Rand returns a uniform int in [0, n) for P2C; nil means
	// math/rand/v2.IntN. It must be safe for concurrent use. For tests.
	Rand func(n int) int
}

// Kind says what a Notification reports.
type Kind int

// Notification kinds.
const (
	Ejected Kind = iota + 1
	Restored
)

func (k Kind) String() string {
	switch k {
	case Ejected:
		return "ejected"
	case Restored:
		return "restored"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Notification reports one endpoint leaving or rejoining the rotation.
type Notification struct {
	Kind Kind
	Addr string
	// For is the length of the ejection (Ejected only).
	For time.Duration
	// Ejections is how many times the endpoint has been ejected, counting
	// this one, after decay (Ejected only).
	Ejections int
	At        time.Time
}

// cacheLine keeps contended counters apart (uber-go/ratelimit pads the same
// way) so endpoints written by one core do not slow Pick on another.
type pad [64]byte

// Endpoint is one instance in the set. Its Addr is fixed; the counters are
// updated from any goroutine.
type Endpoint struct {
	Addr string
	b    *Balancer

	_           pad
	inflight    atomic.Int64
	consecutive atomic.Int64
	failures    atomic.Uint64
	_           pad

	// Guarded by b.mu.
	ejected    bool
	held       bool // out of rotation until Release (Hold)
	until      time.Time
	ejections  int
	restoredAt time.Time
	removed    bool
}

// Done ends a request that Pick started: it lowers the in-flight count and
// records the outcome, err == nil being a success. Classify before calling
// (a 4xx reply is usually the caller's fault, not the endpoint's: pass nil).
func (e *Endpoint) Done(err error) {
	e.inflight.Add(-1)
	e.Report(err == nil)
}

// Report records an outcome without touching the in-flight count.
func (e *Endpoint) Report(success bool) {
	if success {
		// Load first: most successes follow successes, and a store would
		// bounce the cache line between cores for nothing.
		if e.consecutive.Load() != 0 {
			e.consecutive.Store(0)
		}
		return
	}
	e.failures.Add(1)
	n := e.consecutive.Add(1)
	if t := e.b.threshold; t > 0 && n >= int64(t) {
		e.b.eject(e)
	}
}

// InFlight is the number of requests picked and not yet Done.
func (e *Endpoint) InFlight() int64 { return e.inflight.Load() }

// snapshot is what Pick reads; never modified once published.
type snapshot struct {
	all   []*Endpoint
	ready []*Endpoint // in rotation, in address order of all
	// nextReturn is the earliest end of an ejection in Unix nanoseconds,
	// or 0 when nothing is ejected: Pick reads the clock only when it is
	// set.
	nextReturn int64
}

// Balancer picks endpoints. All methods are safe for concurrent use.
type Balancer struct {
	policy    Policy
	threshold int // consecutive failures that eject; 0 disables
	base      time.Duration
	maxEject  time.Duration
	percent   int
	listener  func(Notification)
	now       func() time.Time
	rand      func(int) int

	snap atomic.Pointer[snapshot]
	_    pad
	rr   atomic.Uint64
	_    pad

	mu sync.Mutex // serialises writers of the snapshot and ejection state
}

// New returns a Balancer over addrs (host:port each; duplicates are
// dropped). An empty set is allowed: Pick fails with ErrNoEndpoint until
// Update adds some.
func New(addrs []string, cfg Config) (*Balancer, error) {
	b := &Balancer{
		policy:    cfg.Policy,
		threshold: cfg.ConsecutiveFailures,
		base:      cfg.BaseEjectionTime,
		maxEject:  cfg.MaxEjectionTime,
		percent:   cfg.MaxEjectionPercent,
		listener:  cfg.Listener,
		now:       cfg.Now,
		rand:      cfg.Rand,
	}
	if b.policy != RoundRobin && b.policy != P2C {
		return nil, fmt.Errorf("balancer: unknown policy %v", b.policy)
	}
	switch {
	case b.threshold == 0:
		b.threshold = DefaultConsecutiveFailures
	case b.threshold < 0:
		b.threshold = 0
	}
	if b.base < 0 || b.maxEject < 0 || b.percent < 0 {
		return nil, errors.New("balancer: negative ejection time or percent")
	}
	if b.base == 0 {
		b.base = DefaultBaseEjectionTime
	}
	if b.maxEject == 0 {
		b.maxEject = max(DefaultMaxEjectionTime, b.base)
	}
	if b.percent == 0 {
		b.percent = DefaultMaxEjectionPercent
	}
	b.percent = min(b.percent, 100)
	if b.now == nil {
		b.now = time.Now
	}
	if b.rand == nil {
		b.rand = rand.IntN
	}
	b.snap.Store(&snapshot{})
	if err := b.Update(addrs); err != nil {
		return nil, err
	}
	return b, nil
}

// Pick chooses an endpoint for one request and counts it in flight; the
// caller must call Done on it when the request ends.
func (b *Balancer) Pick() (*Endpoint, error) {
	s := b.snap.Load()
	if s.nextReturn != 0 {
		if now := b.now(); now.UnixNano() >= s.nextReturn {
			s = b.restore(now)
		}
	}
	n := len(s.ready)
	var e *Endpoint
	switch {
	case n == 0:
		return nil, ErrNoEndpoint
	case n == 1:
		e = s.ready[0]
	case b.policy == P2C:
		i := b.rand(n)
		j := b.rand(n - 1)
		if j >= i {
			j++ // two distinct endpoints, each pair equally likely
		}
		e = s.ready[i]
		if o := s.ready[j]; o.inflight.Load() < e.inflight.Load() {
			e = o
		}
	default:
		e = s.ready[(b.rr.Add(1)-1)%uint64(n)]
	}
	e.inflight.Add(1)
	return e, nil
}

// Next returns when the earliest ejection ends, and false when no
// endpoint is ejected.
func (b *Balancer) Next() (time.Time, bool) {
	s := b.snap.Load()
	if s.nextReturn == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, s.nextReturn), true
}

// Tick restores the endpoints whose ejection has ended by now, as Pick
// would, so an owner can announce them without waiting for traffic.
func (b *Balancer) Tick(now time.Time) {
	b.restore(now)
}

// Update replaces the endpoint set. Endpoints that stay keep their
// counters and ejection state; removed ones are dropped (their Done calls
// still work). An invalid address fails the whole update and leaves the
// set as it was.
func (b *Balancer) Update(addrs []string) error {
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("balancer: endpoint %q: %w", a, err)
		}
	}
	b.mu.Lock()
	old := b.snap.Load().all
	byAddr := make(map[string]*Endpoint, len(old))
	for _, e := range old {
		byAddr[e.Addr] = e
	}
	all := make([]*Endpoint, 0, len(addrs))
	seen := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		if seen[a] {
			continue
		}
		seen[a] = true
		e := byAddr[a]
		if e == nil {
			e = &Endpoint{Addr: a, b: b}
		}
		delete(byAddr, a)
		all = append(all, e)
	}
	for _, e := range byAddr {
		e.removed = true
	}
	b.publishLocked(all)
	b.mu.Unlock()
	return nil
}

// publishLocked builds and stores a new snapshot from all.
func (b *Balancer) publishLocked(all []*Endpoint) {
	s := &snapshot{all: all, ready: make([]*Endpoint, 0, len(all))}
	for _, e := range all {
		if !e.ejected {
			if !e.held {
				s.ready = append(s.ready, e)
			}
			continue
		}
		if u := e.until.UnixNano(); s.nextReturn == 0 || u < s.nextReturn {
			s.nextReturn = u
		}
	}
	b.snap.Store(s)
}

// eject takes e out of rotation if it still qualifies and the cap allows.
func (b *Balancer) eject(e *Endpoint) {
	b.mu.Lock()
	if e.ejected || e.removed || e.consecutive.Load() < int64(b.threshold) {
		b.mu.Unlock() // already handled by a racing failure, or healed
		return
	}
	now := b.now()
	// Ejections that have run out count no more against the cap.
	notes := b.restoreLocked(now)
	all := b.snap.Load().all
	ejected := 0
	for _, o := range all {
		if o.ejected {
			ejected++
		}
	}
	if !(len(all) == 1 && b.percent < 100) && ejected*100 < b.percent*len(all) {
		if e.ejections > 0 {
			// Decay: one step per BaseEjectionTime spent back in rotation.
			healthy := int(now.Sub(e.restoredAt) / b.base)
			e.ejections = max(0, e.ejections-healthy)
		}
		e.ejections++
		d := b.base * time.Duration(e.ejections)
		if d > b.maxEject || d/time.Duration(e.ejections) != b.base {
			d = b.maxEject
		}
		e.ejected = true
		e.until = now.Add(d)
		b.publishLocked(all)
		notes = append(notes, Notification{Kind: Ejected, Addr: e.Addr, For: d, Ejections: e.ejections, At: now})
	}
	b.mu.Unlock()
	b.notify(notes)
}

// restore brings back every endpoint whose ejection ended by now and
// returns the snapshot in force afterwards.
func (b *Balancer) restore(now time.Time) *snapshot {
	b.mu.Lock()
	notes := b.restoreLocked(now)
	s := b.snap.Load()
	b.mu.Unlock()
	b.notify(notes)
	return s
}

func (b *Balancer) restoreLocked(now time.Time) []Notification {
	s := b.snap.Load()
	if s.nextReturn == 0 || now.UnixNano() < s.nextReturn {
		return nil
	}
	var back []Notification
	for _, e := range s.all {
		if e.ejected && !now.Before(e.until) {
			e.ejected = false
			// Decay counts from the end of the ejection, even when no
			// Pick noticed it until later.
			e.restoredAt = e.until
			e.consecutive.Store(0)
			back = append(back, Notification{Kind: Restored, Addr: e.Addr, At: now})
		}
	}
	b.publishLocked(s.all)
	return back
}

func (b *Balancer) notify(notes []Notification) {
	if b.listener == nil {
		return
	}
	for _, n := range notes {
		b.listener(n)
	}
}

// EndpointStats is a view of one endpoint.
type EndpointStats struct {
	Addr     string `json:"addr"`
	InFlight int64  `json:"in_flight"`
	Ejected  bool   `json:"ejected"`
	// EjectedUntil is when the current ejection ends (zero when in
	// rotation).
	EjectedUntil time.Time `json:"ejected_until,omitzero"`
	Ejections    int       `json:"ejections"`
	// Held is true while Hold keeps the endpoint out of rotation.
	Held                bool   `json:"held,omitempty"`
	ConsecutiveFailures int64  `json:"consecutive_failures"`
	Failures            uint64 `json:"failures"`
}

// Endpoints returns every endpoint's figures, in the order given to Update.
func (b *Balancer) Endpoints() []EndpointStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	all := b.snap.Load().all
	out := make([]EndpointStats, len(all))
	for i, e := range all {
		out[i] = EndpointStats{
			Addr:                e.Addr,
			InFlight:            e.inflight.Load(),
			Ejected:             e.ejected,
			Ejections:           e.ejections,
			Held:                e.held,
			ConsecutiveFailures: e.consecutive.Load(),
			Failures:            e.failures.Load(),
		}
		if e.ejected {
			out[i].EjectedUntil = e.until
		}
	}
	return out
}

// Abandon ends a request that Pick started without recording an outcome:
// the caller gave up, which says nothing about the endpoint.
func (e *Endpoint) Abandon() { e.inflight.Add(-1) }

// Hold takes addr out of rotation until Release, whatever outlier
// detection says: the owner's own knowledge, such as an active health
// check failing. It is not capped by MaxEjectionPercent (every endpoint
// held means Pick fails with ErrNoEndpoint) and sends no Notification.
// changed is false when addr was held already.
func (b *Balancer) Hold(addr string) (changed bool, err error) { return b.setHeld(addr, true) }

// Release puts an endpoint that Hold took out back into rotation (unless
// outlier detection has it ejected, until that ends). changed is false
// when addr was not held.
func (b *Balancer) Release(addr string) (changed bool, err error) { return b.setHeld(addr, false) }

func (b *Balancer) setHeld(addr string, held bool) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	all := b.snap.Load().all
	for _, e := range all {
		if e.Addr != addr {
			continue
		}
		if e.held == held {
			return false, nil
		}
		e.held = held
		b.publishLocked(all)
		return true, nil
	}
	return false, fmt.Errorf("%w: %q", ErrUnknownEndpoint, addr)
}
