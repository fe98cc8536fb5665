package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/viable-systems/vsm-connections/state"
)

// Transaction implements state.Store with WATCH, MULTI and EXEC. Each
// attempt is bounded by the store's timeout; between attempts lost to a
// concurrent writer it waits a short random time so that contending callers
// spread out.
func (s *Store) Transaction(ctx context.Context, keys []string, fn func(tx state.Tx) error) error {
	if err := s.checkOpen("transaction"); err != nil {
		return err
	}
	slot := -1
	if s.cluster != nil {
		var err error
		if slot, err = crossSlot("transaction", keys); err != nil {
			return err
		}
		if len(keys) == 0 {
			return s.unwatchedClusterTx(ctx, fn)
		}
	}
	for attempt := 0; attempt < s.opts.txAttempts; attempt++ {
		if attempt > 0 {
			limit := min(time.Duration(attempt)*200*time.Microsecond, 20*time.Millisecond)
			t := time.NewTimer(rand.N(limit) + 1)
			select {
			case <-ctx.Done():
				t.Stop()
				return s.wrap("transaction", ctx.Err())
			case <-t.C:
			}
		}
		var userErr error
		actx, cancel := s.bound(ctx)
		err := s.c.Watch(actx, func(rtx *goredis.Tx) error {
			tx := &redisTx{s: s, rtx: rtx}
			if err := fn(tx); err != nil {
				userErr = err
				return err
			}
			if tx.err != nil {
				userErr = tx.err
				return tx.err
			}
			if len(tx.ops) == 0 {
				return nil
			}
			if err := tx.sameSlot(slot); err != nil {
				userErr = err
				return err
			}
			return s.exec(actx, rtx, tx.ops)
		}, keys...)
		cancel()
		switch {
		case err == nil:
			return nil
		case userErr != nil && err == userErr:
			return err
		case errors.Is(err, goredis.TxFailedErr):
			continue
		}
		return s.wrap("transaction", err)
	}
	return fmt.Errorf("redis transaction on %q: %w after %d attempts", keys, state.ErrConflict, s.opts.txAttempts)
}

// exec applies ops in MULTI/EXEC on rtx's connection, then, with replica
// acks, WAITs on it.
func (s *Store) exec(ctx context.Context, rtx *goredis.Tx, ops []func(context.Context, goredis.Pipeliner)) error {
	cmds, err := rtx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for _, op := range ops {
			op(ctx, p)
		}
		return nil
	})
	if errors.Is(err, goredis.TxFailedErr) {
		return err
	}
	// EXEC ran: a queued command that failed on its own (INCR of
	// text) does not undo the others; report the first.
	for _, c := range cmds {
		if c.Err() != nil {
			return s.wrap("transaction "+c.Name(), c.Err())
		}
	}
	if err != nil {
		return s.wrap("exec", err)
	}
	if s.opts.replicaAcks > 0 {
		wait := goredis.NewCmd(ctx, "wait", s.opts.replicaAcks, max(s.timeout/4, time.Millisecond).Milliseconds())
		_ = rtx.Process(ctx, wait)
		return s.checkAcks("transaction", wait)
	}
	return nil
}

// unwatchedClusterTx is a Transaction that watches nothing, on a Redis
// Cluster, where WATCH needs a key to choose a node: fn reads through the
// store directly (nothing to watch means nothing to conflict with), and the
// queued writes, which must share a slot, apply in one MULTI/EXEC on that
// slot's master.
func (s *Store) unwatchedClusterTx(ctx context.Context, fn func(tx state.Tx) error) error {
	tx := &redisTx{s: s}
	if err := fn(tx); err != nil {
		return err
	}
	if tx.err != nil {
		return tx.err
	}
	if len(tx.ops) == 0 {
		return nil
	}
	if err := tx.sameSlot(-1); err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	node, err := s.cluster.MasterForKey(ctx, tx.keys[0])
	if err != nil {
		return s.wrap("transaction", err)
	}
	// Watch with no keys: just one connection to that master.
	return node.Watch(ctx, func(rtx *goredis.Tx) error { return s.exec(ctx, rtx, tx.ops) })
}

type redisTx struct {
	s    *Store
	rtx  *goredis.Tx // nil: reads go to the store (unwatchedClusterTx)
	ops  []func(context.Context, goredis.Pipeliner)
	keys []string // written by ops
	err  error
}

// sameSlot checks, in cluster mode, that every written key is in slot (or,
// for slot -1, that they share one): EXEC would otherwise fail on the
// server, or go-redis split it into one transaction per slot.
func (t *redisTx) sameSlot(slot int) error {
	if t.s.cluster == nil {
		return nil
	}
	keys := t.keys
	if slot >= 0 {
		for _, k := range keys {
			if keySlot(k) != slot {
				return fmt.Errorf("redis transaction: write to %q outside the watched keys' slot: %w", k, state.ErrCrossSlot)
			}
		}
		return nil
	}
	_, err := crossSlot("transaction", keys)
	return err
}

func (t *redisTx) Get(ctx context.Context, key string, dst any) error {
	if t.rtx == nil {
		return t.s.Get(ctx, key, dst)
	}
	ctx, cancel := t.s.bound(ctx)
	b, err := t.rtx.Get(ctx, key).Bytes()
	cancel()
	if err != nil {
		return t.s.wrapKey("get", key, err)
	}
	return state.Decode(key, b, dst)
}

func (t *redisTx) Set(key string, value any, opts ...state.SetOption) error {
	b, err := state.Encode(value)
	if err != nil {
		err = fmt.Errorf("redis set %s: encode: %w", key, err)
		if t.err == nil {
			t.err = err
		}
		return err
	}
	ttl := state.ResolveSetOptions(opts).TTL
	t.keys = append(t.keys, key)
	t.ops = append(t.ops, func(ctx context.Context, p goredis.Pipeliner) { p.Set(ctx, key, b, ttl) })
	return nil
}

func (t *redisTx) Incr(key string) { t.IncrBy(key, 1) }

func (t *redisTx) IncrBy(key string, n int64) {
	t.keys = append(t.keys, key)
	t.ops = append(t.ops, func(ctx context.Context, p goredis.Pipeliner) { p.IncrBy(ctx, key, n) })
}

func (t *redisTx) Del(keys ...string) {
	if len(keys) == 0 {
		return
	}
	keys = append([]string(nil), keys...)
	t.keys = append(t.keys, keys...)
	t.ops = append(t.ops, func(ctx context.Context, p goredis.Pipeliner) { p.Del(ctx, keys...) })
}

func (t *redisTx) Expire(key string, d time.Duration) {
	if d > 0 && d < time.Millisecond {
		d = time.Millisecond
	}
	t.keys = append(t.keys, key)
	t.ops = append(t.ops, func(ctx context.Context, p goredis.Pipeliner) { p.PExpire(ctx, key, d) })
}
