package redisstore

import (
	"context"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Auto-pipelining (config.Redis.DisableAutoPipeline turns it off).
//
// Get and Set (without replica acks) are the calls that many goroutines make
// at once; one round trip per call caps them at what the pool's connections
// can turn around. So, while another of these calls is in flight, a call is
// handed to go-redis's deferred AutoPipeliner, which sends the commands of
// all concurrent callers as one pipeline per round trip (per node, on a
// Redis Cluster: it routes each command by slot). A call with nothing else
// in flight goes straight to the pool as before, because the hand-off to
// the pipeliner's flusher goroutine and back costs two goroutine wake-ups,
// which a lone caller would pay for nothing.
//
// Deadlines: go-redis runs a queued command on the pipeliner's own context
// and ignores the caller's once the command is queued. The caller here
// therefore does not wait on the command but on whichever comes first: the
// command's batch completing, or its own context ending, in which case it
// returns the context's error at once (matching state.ErrUnavailable for a
// deadline, as a direct call does). The command itself stays queued or in
// flight, and its late reply lands in a command value nobody reads any
// more, so it cannot reach another caller: every reply is matched to its
// own command object by go-redis, never by position in our code. What an
// abandoned write did is unknown to its caller, as with any timed-out
// write. The batch is bounded by go-redis's read and write timeouts (the
// store's timeout), and the queue by maxQueued, beyond which a call fails
// with state.ErrUnavailable rather than grow the queue while Redis stalls.
//
// Pipelines, transactions, pub/sub and every other command are unchanged.

// maxQueued bounds the commands the pipeliner holds (queued or in flight).
const maxQueued = 64 * 1024

// autoPipe is the batching path of a Store.
type autoPipe struct {
	ap *goredis.AutoPipeliner
	// Test hooks (export_test.go): always batches even a lone call;
	// onBatch, when set, runs as a call is handed to the pipeliner.
	always  bool
	onBatch func()
	// inFlight counts the Get and Set calls under way, batched or not. It
	// sits alone on its cache line: every call of every goroutine adds to it.
	_        [64]byte
	inFlight atomic.Int64
	_        [56]byte
}

// newAutoPipe returns the batching path over c, or nil (every call direct)
// when go-redis refuses to build one.
func newAutoPipe(c goredis.UniversalClient, o options) *autoPipe {
	ao := goredis.DefaultAutoPipelineOptions()
	ao.MaxQueuedCommands = maxQueued
	ap, err := c.AsyncAutoPipelineWithOptions(ao)
	if err != nil {
		return nil
	}
	return &autoPipe{ap: ap, always: o.testAlwaysBatch, onBatch: o.testOnBatch}
}

// begin registers a call and reports whether it should be batched: only
// when another call is already in flight. Every begin needs its end.
func (p *autoPipe) begin() bool { return p.inFlight.Add(1) > 1 || p.always }

func (p *autoPipe) end() { p.inFlight.Add(-1) }

// run queues cmd and waits for its reply or for ctx to end, whichever is
// first; in the second case it returns ctx's error and leaves cmd to the
// pipeliner (the caller must not read cmd then).
func (p *autoPipe) run(ctx context.Context, cmd goredis.Cmder) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.onBatch != nil {
		p.onBatch()
	}
	return p.ap.Submit(ctx, cmd).WaitContext(ctx)
}

func (p *autoPipe) close() error { return p.ap.Close() }

// get is GET key, batched when other calls are in flight.
func (s *Store) get(ctx context.Context, key string) ([]byte, error) {
	p := s.pipe
	if p == nil {
		return s.c.Get(ctx, key).Bytes()
	}
	defer p.end()
	if !p.begin() {
		return s.c.Get(ctx, key).Bytes()
	}
	cmd := goredis.NewStringCmd(ctx, "get", key)
	if err := p.run(ctx, cmd); err != nil {
		return nil, err
	}
	return cmd.Bytes()
}

// set is SET key value [PX ttl], batched when other calls are in flight.
// The caller handles replica acks, which are never batched.
func (s *Store) set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	p := s.pipe
	if p == nil {
		return s.c.Set(ctx, key, value, ttl).Err()
	}
	defer p.end()
	if !p.begin() {
		return s.c.Set(ctx, key, value, ttl).Err()
	}
	var cmd *goredis.StatusCmd
	if ttl > 0 {
		// As go-redis's Set sends it: PX in whole milliseconds, at least 1.
		cmd = goredis.NewStatusCmd(ctx, "set", key, value, "px", max(ttl.Milliseconds(), 1))
	} else {
		cmd = goredis.NewStatusCmd(ctx, "set", key, value)
	}
	return p.run(ctx, cmd)
}
