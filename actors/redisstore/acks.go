package redisstore

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Replica acknowledgements (config.Redis.ReplicaAcks): WAIT counts the
// replicas that have every write made so far on its connection, so a write
// and its WAIT go in one pipeline on one connection, to the master that
// serves the key.

// write runs the write that queue queues, for key. Without replica acks it
// is sent as is, through the client; with them, it is pipelined with WAIT.
// The caller checks its command's own error first: the returned error is
// the batch's or the acknowledgement's.
func (s *Store) write(ctx context.Context, op, key string, queue func(goredis.Cmdable)) error {
	if s.opts.replicaAcks == 0 {
		queue(s.c)
		return nil
	}
	c, err := s.nodeFor(ctx, key)
	if err != nil {
		return err
	}
	var wait *goredis.Cmd
	_, err = c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		queue(p)
		wait = s.queueWait(ctx, p)
		return nil
	})
	if err != nil && !isReply(err) {
		return s.wrap(op, err)
	}
	return s.checkAcks(op, wait)
}

// nodeFor is the client of the master serving key: the store's own client
// except on a cluster.
func (s *Store) nodeFor(ctx context.Context, key string) (goredis.Cmdable, error) {
	if s.cluster == nil {
		return s.c, nil
	}
	return s.cluster.MasterForKey(ctx, key)
}

// queueWait queues WAIT for the configured replicas, for at most a quarter
// of the timeout: Redis checks WAIT timeouts only every 100ms (hz 10), and
// go-redis's read timeout is the whole timeout.
func (s *Store) queueWait(ctx context.Context, p goredis.Pipeliner) *goredis.Cmd {
	return p.Do(ctx, "wait", s.opts.replicaAcks, max(s.timeout/4, time.Millisecond).Milliseconds())
}

func (s *Store) checkAcks(op string, wait *goredis.Cmd) error {
	if s.opts.replicaAcks == 0 || wait == nil {
		return nil
	}
	n, err := wait.Int64()
	if err != nil {
		return s.wrap(op+" wait", err)
	}
	if n < int64(s.opts.replicaAcks) {
		return &notReplicatedError{op: op, got: n, want: int64(s.opts.replicaAcks)}
	}
	return nil
}
