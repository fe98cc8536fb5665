package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/viable-systems/vsm-connections/state"
)

// Redis Cluster support. What differs from one server:
//
//   - A multi-key command must name keys of one hash slot. Del and Exists
//     split their keys by slot (one command per slot, pipelined); a
//     Transaction must watch and write keys of one slot, and otherwise
//     fails with state.ErrCrossSlot before anything is sent. Hash tags
//     ({...}) put related keys in one slot.
//   - Pub/sub: Publish sends SPUBLISH and PUBLISH together to the master of
//     the channel's slot; an exact Subscribe uses SSUBSCRIBE (sharded: the
//     subscription lives on that shard, and the message does not cross
//     the cluster bus); a pattern Subscribe uses PSUBSCRIBE, which sharded
//     pub/sub has no equivalent for, and receives the PUBLISH copy, which
//     Redis forwards to every node. Each subscriber gets one copy; plain
//     SUBSCRIBE clients (older versions of this store) get the PUBLISH.
//     Sending both from one node, in one round trip, keeps the publish
//     order for every subscriber: PUBLISH alone goes to a random node per
//     call in go-redis's cluster client, and reorders.
//   - go-redis learns a failover late: without a redirect it keeps the
//     slot map for ClusterStateReloadInterval and dials the dead master.
//     Every error that means unavailability therefore asks for a reload
//     (go-redis coalesces them), so calls resume once a replica has taken
//     over.

// clusterReloadEvery bounds how stale go-redis's slot map can get while
// calls succeed (its default is a minute).
const clusterReloadEvery = 10 * time.Second

// slotCount is the number of hash slots of a Redis Cluster.
const slotCount = 16384

// keySlot is the hash slot of key: CRC16 (XMODEM) of the key, or of the
// part between the first { and the next } when that is not empty, modulo
// 16384, as Redis Cluster computes it.
func keySlot(key string) int {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if end := strings.IndexByte(key[open+1:], '}'); end > 0 {
			key = key[open+1 : open+1+end]
		}
	}
	return int(crc16(key)) % slotCount
}

func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// crossSlot returns an error matching state.ErrCrossSlot when keys span
// more than one slot; slot is theirs otherwise (-1 for no keys).
func crossSlot(op string, keys []string) (slot int, err error) {
	slot = -1
	for _, k := range keys {
		switch s := keySlot(k); {
		case slot < 0:
			slot = s
		case s != slot:
			return slot, fmt.Errorf("redis %s %q: %w", op, keys, state.ErrCrossSlot)
		}
	}
	return slot, nil
}

// bySlot groups keys by hash slot, keeping their order within a slot.
func bySlot(keys []string) [][]string {
	idx := make(map[int]int)
	var groups [][]string
	for _, k := range keys {
		s := keySlot(k)
		i, ok := idx[s]
		if !ok {
			i = len(groups)
			idx[s] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], k)
	}
	return groups
}

// countKeys runs a counting multi-key command (DEL, EXISTS): at once when
// the keys share a slot (or there is no cluster), otherwise as one command
// per slot in a pipeline, summed.
//
// A write (durable) waits for the replica acknowledgements, per slot.
func (s *Store) countKeys(ctx context.Context, op string, durable bool, keys []string,
	run func(context.Context, goredis.Cmdable, ...string) *goredis.IntCmd) (int64, error) {
	if durable && s.opts.replicaAcks > 0 {
		groups := [][]string{keys}
		if s.cluster != nil {
			groups = bySlot(keys)
		}
		var total int64
		for _, g := range groups {
			var cmd *goredis.IntCmd
			ackErr := s.write(ctx, op, g[0], func(c goredis.Cmdable) { cmd = run(ctx, c, g...) })
			n, err := cmd.Result()
			if err != nil {
				return total, s.wrap(op, err)
			}
			if ackErr != nil {
				return total, ackErr
			}
			total += n
		}
		return total, nil
	}
	if s.cluster == nil {
		n, err := run(ctx, s.c, keys...).Result()
		return n, s.wrap(op, err)
	}
	groups := bySlot(keys)
	if len(groups) == 1 {
		n, err := run(ctx, s.c, keys...).Result()
		return n, s.wrap(op, err)
	}
	cmds := make([]*goredis.IntCmd, len(groups))
	_, err := s.cluster.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, g := range groups {
			cmds[i] = run(ctx, p, g...)
		}
		return nil
	})
	if err != nil {
		return 0, s.wrap(op, err)
	}
	var total int64
	for _, c := range cmds {
		total += c.Val()
	}
	return total, nil
}

// publishCluster sends SPUBLISH and PUBLISH to the master of channel's
// slot in one round trip (see the comment at the top of this file).
func (s *Store) publishCluster(ctx context.Context, channel string, msg any) (int64, error) {
	var sp, pp *goredis.IntCmd
	_, err := s.cluster.Pipelined(ctx, func(p goredis.Pipeliner) error {
		sp, pp = queueClusterPublish(ctx, p, channel, msg)
		return nil
	})
	return clusterPublishResult(sp, pp, err)
}

// queueClusterPublish queues the pair of publishes of publishCluster.
func queueClusterPublish(ctx context.Context, p goredis.Pipeliner, channel string, msg any) (sp, pp *goredis.IntCmd) {
	sp = p.SPublish(ctx, channel, msg)
	pub := goredis.NewIntCmd(ctx, "publish", channel, msg)
	// PUBLISH names no key, so go-redis would send it to a random node:
	// route it by the channel like SPUBLISH.
	pub.SetFirstKeyPos(1)
	_ = p.Process(ctx, pub)
	return sp, pub
}

func clusterPublishResult(sp, pp *goredis.IntCmd, err error) (int64, error) {
	if perr := pp.Err(); perr != nil {
		return 0, perr
	}
	n := pp.Val()
	if serr := sp.Err(); serr != nil {
		var rerr goredis.Error
		// Redis 6 has no sharded pub/sub: the PUBLISH reached everyone.
		if !(errors.As(serr, &rerr) && strings.HasPrefix(rerr.Error(), "ERR unknown command")) {
			return 0, serr
		}
	} else {
		n += sp.Val()
	}
	if err != nil && !isReply(err) {
		return 0, err
	}
	return n, nil
}

// reloadOnUnavailable asks go-redis to refresh its slot map after an error
// that may mean a master died or a slot moved.
func (s *Store) reloadOnUnavailable() {
	if s.cluster != nil && !s.closed.Load() {
		s.cluster.ReloadState(context.Background())
	}
}
