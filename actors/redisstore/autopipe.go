package redisstore

import (
	"context"
	"sync"
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
// write; but it can no longer be overtaken: until every abandoned command
// has completed, even a lone call is batched behind it (see abandon). The batch is bounded by go-redis's read and write timeouts (the
// store's timeout), and the queue by maxQueued, beyond which a call fails
// with state.ErrUnavailable rather than grow the queue while Redis stalls.
//
// Pipelines, transactions, pub/sub and every other command are unchanged.

// maxQueued bounds the commands the pipeliner holds (queued or in flight).
const maxQueued = 64 * 1024

// autoPipe is the batching path of a Store.
type autoPipe struct {
	ap *goredis.AutoPipeliner
	// onBatch, a test hook (export_test.go), runs as a call is handed to
	// the pipeliner; always, another, batches even a lone call.
	onBatch func()
	always  atomic.Bool
	// polled is canceled from the start: WaitContext with it asks, without
	// waiting, whether an abandoned command has completed.
	polled context.Context

	// abandoned holds, oldest first, the futures of batched commands whose
	// callers returned at their deadline before the reply came; pending is
	// its length, read without the lock. While any is pending, every call
	// is batched, even alone (see stillAbandoned).
	mu        sync.Mutex
	abandoned []goredis.AutoFuture
	pending   atomic.Int64

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
	polled, cancel := context.WithCancel(context.Background())
	cancel()
	p := &autoPipe{ap: ap, onBatch: o.testOnBatch, polled: polled}
	p.always.Store(o.testAlwaysBatch)
	return p
}

// begin registers a call and reports whether it should be batched: when
// another call is already in flight, or an abandoned command may still be
// queued. Every begin needs its end.
func (p *autoPipe) begin() bool {
	if p.inFlight.Add(1) > 1 || p.always.Load() {
		return true
	}
	return p.pending.Load() > 0 && p.stillAbandoned()
}

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
	f := p.ap.Submit(ctx, cmd)
	err := f.WaitContext(ctx)
	if err != nil && err == ctx.Err() {
		p.abandon(f)
	}
	return err
}

// abandon records a command its caller no longer waits for. A command left
// in the pipeliner's queue is sent later, maybe after the Redis stall that
// made its caller give up: a later call sent straight to the pool could
// overtake it, and an abandoned SET would then overwrite a newer one. So
// until it completes, calls keep to the pipeliner, whose stream is ordered
// (per node in a cluster, hence per key).
func (p *autoPipe) abandon(f goredis.AutoFuture) {
	p.mu.Lock()
	if len(p.abandoned) < maxQueued { // beyond, the pipeliner refuses commands anyway
		p.abandoned = append(p.abandoned, f)
		p.pending.Store(int64(len(p.abandoned)))
	}
	p.mu.Unlock()
}

// stillAbandoned drops the abandoned commands that have completed, oldest
// first, stopping at the first that has not (the later ones may have, and
// are dropped on a later call: this errs on the side of batching), and
// reports whether any is left.
func (p *autoPipe) stillAbandoned() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.abandoned) > 0 && p.abandoned[0].WaitContext(p.polled) != p.polled.Err() {
		p.abandoned[0] = goredis.AutoFuture{}
		p.abandoned = p.abandoned[1:]
	}
	if len(p.abandoned) == 0 {
		p.abandoned = nil
	}
	p.pending.Store(int64(len(p.abandoned)))
	return len(p.abandoned) > 0
}

// waitAbandoned waits, within ctx, until every abandoned command has
// completed (for tests).
func (p *autoPipe) waitAbandoned(ctx context.Context) error {
	p.mu.Lock()
	futures := append([]goredis.AutoFuture(nil), p.abandoned...)
	p.mu.Unlock()
	for _, f := range futures {
		if err := f.WaitContext(ctx); err != nil && err == ctx.Err() {
			return err
		}
	}
	return nil
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
