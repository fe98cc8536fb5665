package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/viable-systems/vsm-connections/state"
)

// Transaction implements state.Store with optimistic concurrency: the
// revisions of keys are snapshotted, fn runs without the lock, and the
// queued writes apply only if no watched key changed.
func (s *Store) Transaction(ctx context.Context, keys []string, fn func(tx state.Tx) error) error {
	for attempt := 0; attempt < s.cfg.txAttempts; attempt++ {
		now, err := s.lock(ctx)
		if err != nil {
			return err
		}
		watched := make(map[string]uint64, len(keys))
		for _, k := range keys {
			watched[k] = s.revLocked(k, now)
		}
		s.mu.Unlock()

		tx := &memTx{store: s}
		if err := fn(tx); err != nil {
			return err
		}
		if tx.err != nil {
			return tx.err
		}

		now, err = s.lock(ctx)
		if err != nil {
			return err
		}
		conflict := false
		for k, rev := range watched {
			if s.revLocked(k, now) != rev {
				conflict = true
				break
			}
		}
		if !conflict {
			// As in MULTI/EXEC, a queued write that fails on its own (INCR
			// of text) does not undo the others; the first is reported.
			var first error
			for _, op := range tx.ops {
				if err := op(now); err != nil && first == nil {
					first = err
				}
			}
			s.mu.Unlock()
			return first
		}
		s.mu.Unlock()
	}
	return fmt.Errorf("%w: %d attempts on %q", state.ErrConflict, s.cfg.txAttempts, keys)
}

// revLocked is the revision of key's live entry, 0 when absent.
func (s *Store) revLocked(key string, now time.Time) uint64 {
	if e := s.lookupLocked(key, now); e != nil {
		return e.rev
	}
	return 0
}

type memTx struct {
	store *Store
	ops   []func(now time.Time) error
	err   error // first queuing error; makes Transaction fail without writing
}

func (t *memTx) Get(ctx context.Context, key string, dst any) error {
	return t.store.Get(ctx, key, dst)
}

func (t *memTx) Set(key string, value any, opts ...state.SetOption) error {
	b, err := state.Encode(value)
	if err != nil {
		err = fmt.Errorf("state: encode %q: %w", key, err)
		if t.err == nil {
			t.err = err
		}
		return err
	}
	b = append([]byte(nil), b...)
	ttl := state.ResolveSetOptions(opts).TTL
	t.ops = append(t.ops, func(now time.Time) error { t.store.setLocked(key, b, ttl, now); return nil })
	return nil
}

func (t *memTx) Incr(key string) { t.IncrBy(key, 1) }

func (t *memTx) IncrBy(key string, n int64) {
	t.ops = append(t.ops, func(now time.Time) error {
		if _, err := t.store.incrLocked(key, n, now); err != nil {
			return fmt.Errorf("transaction incr %q: %w", key, err)
		}
		return nil
	})
}

func (t *memTx) Del(keys ...string) {
	keys = append([]string(nil), keys...)
	t.ops = append(t.ops, func(now time.Time) error {
		for _, k := range keys {
			t.store.delLocked(k, now)
		}
		return nil
	})
}

func (t *memTx) Expire(key string, d time.Duration) {
	t.ops = append(t.ops, func(now time.Time) error { t.store.expireLocked(key, d, now); return nil })
}
