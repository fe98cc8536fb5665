package memory

import (
	"container/heap"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/viable-systems/vsm-connections/state"
)

// Option configures New.
type Option interface{ apply(*config) }

type config struct {
	now        func() time.Time
	txAttempts int
	subBuffer  int
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithClock sets the time source used for expiry. Default time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithTxAttempts sets how many times Transaction runs its function before
// giving up with state.ErrConflict. Default 64.
func WithTxAttempts(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.txAttempts = n
		}
	})
}

// WithSubscriptionBuffer sets how many undelivered messages a subscription
// holds before dropping new ones. Default 4096.
func WithSubscriptionBuffer(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.subBuffer = n
		}
	})
}

// Store is the in-process backend. Create it with New.
type Store struct {
	cfg config

	mu      sync.Mutex
	closed  bool
	data    map[string]*entry
	rev     uint64 // last revision given to a write
	expiry  expiryHeap
	exact   map[string]map[*subscription]struct{}
	pattern map[*subscription]struct{}
}

var _ state.Store = (*Store)(nil)

type entry struct {
	val      []byte
	expireAt time.Time // zero: no expiry
	rev      uint64
}

// New returns an empty store.
func New(opts ...Option) *Store {
	cfg := config{now: time.Now, txAttempts: 64, subBuffer: 4096}
	for _, o := range opts {
		o.apply(&cfg)
	}
	return &Store{
		cfg:     cfg,
		data:    make(map[string]*entry),
		exact:   make(map[string]map[*subscription]struct{}),
		pattern: make(map[*subscription]struct{}),
	}
}

// String describes the backend.
func (s *Store) String() string { return "memory" }

// lock takes the lock unless the store is closed or ctx is done, and sweeps
// expired keys.
func (s *Store) lock(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return time.Time{}, state.ErrClosed
	}
	now := s.cfg.now()
	s.sweepLocked(now)
	return now, nil
}

func (s *Store) sweepLocked(now time.Time) {
	for len(s.expiry) > 0 && !s.expiry[0].at.After(now) {
		it := heap.Pop(&s.expiry).(expiryItem)
		if e, ok := s.data[it.key]; ok && e.expireAt.Equal(it.at) {
			delete(s.data, it.key)
		}
	}
}

// lookupLocked returns the live entry of key, or nil.
func (s *Store) lookupLocked(key string, now time.Time) *entry {
	e, ok := s.data[key]
	if !ok {
		return nil
	}
	if !e.expireAt.IsZero() && !e.expireAt.After(now) {
		delete(s.data, key)
		return nil
	}
	return e
}

func (s *Store) setLocked(key string, val []byte, ttl time.Duration, now time.Time) {
	s.rev++
	e := &entry{val: val, rev: s.rev}
	if ttl > 0 {
		e.expireAt = now.Add(ttl)
		heap.Push(&s.expiry, expiryItem{key: key, at: e.expireAt})
	}
	s.data[key] = e
}

func (s *Store) delLocked(key string, now time.Time) bool {
	if s.lookupLocked(key, now) == nil {
		return false
	}
	delete(s.data, key)
	return true
}

func (s *Store) incrLocked(key string, n int64, now time.Time) (int64, error) {
	var cur int64
	e := s.lookupLocked(key, now)
	if e != nil {
		v, err := strconv.ParseInt(string(e.val), 10, 64)
		if err != nil {
			return 0, state.ErrNotInteger
		}
		cur = v
	}
	if (n > 0 && cur > maxInt64-n) || (n < 0 && cur < minInt64-n) {
		return 0, fmt.Errorf("%w: increment would overflow", state.ErrNotInteger)
	}
	cur += n
	s.rev++
	val := strconv.AppendInt(nil, cur, 10)
	if e != nil {
		// INCR keeps the key's expiry, as Redis does.
		e.val, e.rev = val, s.rev
		return cur, nil
	}
	s.data[key] = &entry{val: val, rev: s.rev}
	return cur, nil
}

const (
	maxInt64 = 1<<63 - 1
	minInt64 = -1 << 63
)

func (s *Store) expireLocked(key string, d time.Duration, now time.Time) bool {
	e := s.lookupLocked(key, now)
	if e == nil {
		return false
	}
	if d <= 0 {
		delete(s.data, key)
		return true
	}
	s.rev++
	e.rev = s.rev
	e.expireAt = now.Add(d)
	heap.Push(&s.expiry, expiryItem{key: key, at: e.expireAt})
	return true
}

// Set implements state.Store.
func (s *Store) Set(ctx context.Context, key string, value any, opts ...state.SetOption) error {
	b, err := state.Encode(value)
	if err != nil {
		return fmt.Errorf("state: encode %q: %w", key, err)
	}
	o := state.ResolveSetOptions(opts)
	b = append([]byte(nil), b...) // the caller may reuse its slice
	now, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.setLocked(key, b, o.TTL, now)
	return nil
}

// Get implements state.Store.
func (s *Store) Get(ctx context.Context, key string, dst any) error {
	now, err := s.lock(ctx)
	if err != nil {
		return err
	}
	e := s.lookupLocked(key, now)
	var val []byte
	if e != nil {
		val = e.val // never mutated in place: writes replace the slice
	}
	s.mu.Unlock()
	if e == nil {
		return fmt.Errorf("%w: %q", state.ErrNotFound, key)
	}
	return state.Decode(key, val, dst)
}

// Del implements state.Store.
func (s *Store) Del(ctx context.Context, keys ...string) (int64, error) {
	now, err := s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	var n int64
	for _, k := range keys {
		if s.delLocked(k, now) {
			n++
		}
	}
	return n, nil
}

// Exists implements state.Store.
func (s *Store) Exists(ctx context.Context, keys ...string) (int64, error) {
	now, err := s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	var n int64
	for _, k := range keys {
		if s.lookupLocked(k, now) != nil {
			n++
		}
	}
	return n, nil
}

// Incr implements state.Store.
func (s *Store) Incr(ctx context.Context, key string) (int64, error) {
	return s.IncrBy(ctx, key, 1)
}

// IncrBy implements state.Store.
func (s *Store) IncrBy(ctx context.Context, key string, n int64) (int64, error) {
	now, err := s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	v, err := s.incrLocked(key, n, now)
	if err != nil {
		return 0, fmt.Errorf("incr %q: %w", key, err)
	}
	return v, nil
}

// Expire implements state.Store.
func (s *Store) Expire(ctx context.Context, key string, d time.Duration) (bool, error) {
	now, err := s.lock(ctx)
	if err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	return s.expireLocked(key, d, now), nil
}

// Ping implements state.Store.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.lock(ctx)
	if err != nil {
		return err
	}
	s.mu.Unlock()
	return nil
}

// Close implements state.Store: it ends every subscription.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	subs := make([]*subscription, 0, len(s.pattern))
	for sub := range s.pattern {
		subs = append(subs, sub)
	}
	for _, set := range s.exact {
		for sub := range set {
			subs = append(subs, sub)
		}
	}
	s.exact, s.pattern = nil, nil
	s.data = nil
	s.expiry = nil
	s.mu.Unlock()
	for _, sub := range subs {
		sub.stop()
	}
	return nil
}

type expiryItem struct {
	key string
	at  time.Time
}

type expiryHeap []expiryItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
