package redisstore

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/viable-systems/vsm-connections/state"
)

// Ping implements state.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.checkOpen("ping"); err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.wrap("ping", s.c.Ping(ctx).Err())
}

// Set implements state.Store.
func (s *Store) Set(ctx context.Context, key string, value any, opts ...state.SetOption) error {
	if err := s.checkOpen("set"); err != nil {
		return err
	}
	b, err := state.Encode(value)
	if err != nil {
		return &redactedError{msg: "redis set " + key + ": encode: " + err.Error(), err: err}
	}
	ttl := state.ResolveSetOptions(opts).TTL
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if s.opts.replicaAcks == 0 {
		return s.wrapKey("set", key, s.set(ctx, key, b, ttl))
	}
	var cmd *goredis.StatusCmd
	ackErr := s.write(ctx, "set "+key, key, func(c goredis.Cmdable) { cmd = c.Set(ctx, key, b, ttl) })
	if err := cmd.Err(); err != nil {
		return s.wrapKey("set", key, err)
	}
	return ackErr
}

// Get implements state.Store.
func (s *Store) Get(ctx context.Context, key string, dst any) error {
	if err := s.checkOpen("get"); err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	b, err := s.get(ctx, key)
	cancel()
	if err != nil {
		return s.wrapKey("get", key, err)
	}
	return state.Decode(key, b, dst)
}

// Del implements state.Store.
func (s *Store) Del(ctx context.Context, keys ...string) (int64, error) {
	if err := s.checkOpen("del"); err != nil {
		return 0, err
	}
	if len(keys) == 0 {
		return 0, nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.countKeys(ctx, "del", true, keys, func(ctx context.Context, c goredis.Cmdable, keys ...string) *goredis.IntCmd {
		return c.Del(ctx, keys...)
	})
}

// Exists implements state.Store.
func (s *Store) Exists(ctx context.Context, keys ...string) (int64, error) {
	if err := s.checkOpen("exists"); err != nil {
		return 0, err
	}
	if len(keys) == 0 {
		return 0, nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.countKeys(ctx, "exists", false, keys, func(ctx context.Context, c goredis.Cmdable, keys ...string) *goredis.IntCmd {
		return c.Exists(ctx, keys...)
	})
}

// Incr implements state.Store.
func (s *Store) Incr(ctx context.Context, key string) (int64, error) {
	return s.IncrBy(ctx, key, 1)
}

// IncrBy implements state.Store.
func (s *Store) IncrBy(ctx context.Context, key string, n int64) (int64, error) {
	if err := s.checkOpen("incrby"); err != nil {
		return 0, err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var cmd *goredis.IntCmd
	ackErr := s.write(ctx, "incrby "+key, key, func(c goredis.Cmdable) { cmd = c.IncrBy(ctx, key, n) })
	v, err := cmd.Result()
	if err != nil {
		return v, s.wrapKey("incrby", key, err)
	}
	return v, ackErr
}

// Expire implements state.Store with millisecond precision (PEXPIRE).
func (s *Store) Expire(ctx context.Context, key string, d time.Duration) (bool, error) {
	if err := s.checkOpen("pexpire"); err != nil {
		return false, err
	}
	if d > 0 && d < time.Millisecond {
		d = time.Millisecond
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var cmd *goredis.BoolCmd
	ackErr := s.write(ctx, "pexpire "+key, key, func(c goredis.Cmdable) { cmd = c.PExpire(ctx, key, d) })
	ok, err := cmd.Result()
	if err != nil {
		return ok, s.wrapKey("pexpire", key, err)
	}
	return ok, ackErr
}

// Publish implements state.Store.
func (s *Store) Publish(ctx context.Context, channel string, value any) error {
	if err := s.checkOpen("publish"); err != nil {
		return err
	}
	b, err := state.Encode(value)
	if err != nil {
		return &redactedError{msg: "redis publish " + channel + ": encode: " + err.Error(), err: err}
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if s.cluster != nil {
		_, err := s.publishCluster(ctx, channel, b)
		return s.wrapKey("publish", channel, err)
	}
	return s.wrapKey("publish", channel, s.c.Publish(ctx, channel, b).Err())
}
