package coord

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/state"
)

// Defaults of the zero Env fields.
const (
	DefaultTimeout    = 2 * time.Second
	DefaultRetryEvery = 500 * time.Millisecond
	DefaultSyncEvery  = 5 * time.Second
	// MinLeaseTTL is the shortest probe lease.
	MinLeaseTTL = 100 * time.Millisecond
)

// Env is what a coordinator needs from the node.
type Env struct {
	// Store carries the bus, the state key and the lease. Required unless
	// Transport is set.
	Store state.Store
	// Transport, when set, carries the protocol instead of Store (package
	// cluster/signals: over the cluster's remote messages). Its Records
	// are counted in Stats.Published here.
	Transport Transport
	// Cluster is node.cluster: nodes with the same cluster share.
	Cluster string
	// Node identifies this node instance in Records and the lease; it must
	// be unique in the cluster (the node adds a random suffix to its name).
	Node string
	// LeaseTTL is how long a probe lease lasts: a prober that dies blocks
	// recovery for at most this long. Default: the breaker's
	// RecoveryTimeout, at least MinLeaseTTL.
	LeaseTTL time.Duration
	// Timeout bounds each store operation. Default 2s.
	Timeout time.Duration
	// RetryEvery paces retries of a failed publish or subscribe. Default
	// 500ms.
	RetryEvery time.Duration
	// SyncEvery paces re-reads of the state key, which repair what pub/sub
	// lost (messages published while a subscription was reconnecting).
	// Default 5s.
	SyncEvery time.Duration
	// Logger; default none.
	Logger *zap.Logger
	// Stats, when set, counts what the coordinator does.
	Stats *Stats
}

// Stats counts a coordinator's work; every field is safe to read at any
// time.
type Stats struct {
	// Published Records (this node's decisions).
	Published atomic.Uint64
	// Applied Records from other nodes (or read on join).
	Applied atomic.Uint64
	// Stale Records ignored because their version was not above the last
	// one seen.
	Stale atomic.Uint64
	// Leases is how many times this node took the probe lease.
	Leases atomic.Uint64
	// LocalProbes is how many recoveries probed without a lease because the
	// store was unreachable.
	LocalProbes atomic.Uint64
}

// Props returns the props of the coordinator of the shared breaker b. Every
// incarnation (restarts included) shares the subscriptions, the store
// operations under way and the last version seen. The listener on b is in
// place from now on, so a transition made before the actor starts is
// handled when it does.
func Props(b *cb.Breaker, env Env) *actor.Props {
	if env.Timeout <= 0 {
		env.Timeout = DefaultTimeout
	}
	if env.RetryEvery <= 0 {
		env.RetryEvery = DefaultRetryEvery
	}
	if env.SyncEvery <= 0 {
		env.SyncEvery = DefaultSyncEvery
	}
	if env.LeaseTTL <= 0 {
		env.LeaseTTL = b.Settings().RecoveryTimeout
	}
	env.LeaseTTL = max(env.LeaseTTL, MinLeaseTTL)
	if env.Logger == nil {
		env.Logger = zap.NewNop()
	}
	if env.Stats == nil {
		env.Stats = &Stats{}
	}
	name := b.Name()
	sh := &shared{
		b:   b,
		env: env,
		log: env.Logger.With(zap.String("breaker", name)),
		keys: keys{
			channel:  Channel(env.Cluster, name),
			stateKey: StateKey(env.Cluster, name),
			verKey:   VersionKey(env.Cluster, name),
			leaseKey: LeaseKey(env.Cluster, name),
		},
	}
	sh.tr = env.Transport
	if sh.tr == nil {
		sh.tr = &storeTransport{st: env.Store, k: sh.keys, own: env.Node, log: sh.log, stats: env.Stats}
	}
	sh.unsubB = b.Subscribe(sh.listen)
	return actor.PropsFromProducer(func() actor.Actor { return &coordinator{shared: sh} })
}

type keys struct{ channel, stateKey, verKey, leaseKey string }

// shared outlives an actor instance. The fields below io are used only by
// the actor, one incarnation at a time.
type shared struct {
	b   *cb.Breaker
	env Env
	log *zap.Logger
	keys

	// The listener's target (nil until the first Started) and what it
	// kept before that; under mu.
	mu      sync.Mutex
	root    *actor.RootContext
	self    *actor.PID
	backlog []cb.Transition
	unsubB  func()

	io *ioQueue  // store operations, off the mailbox
	tr Transport // carries them

	sub        io.Closer
	connecting bool // a connect operation is queued
	joined     bool
	answered   bool         // the first connect finished: Pings are answered at once
	pings      []*actor.PID // Pings waiting for it
	seen       int64        // highest version applied or published
	last       Record       // the cluster's state as last known
	lease      bool         // this node holds the probe lease
	leasing    bool         // a lease request is queued
	syncing    bool         // a re-read of the state key is queued
	publishing int          // publish operations queued
	pending    *Record      // a decision not yet published (store unreachable)
	// busy counts the queued operations whose results may change what a
	// version means (publish numbers a Record, lease and reads return
	// one). A Record from the bus that arrives meanwhile waits in
	// deferred (only the newest matters) and is applied once they are
	// done, so that it is compared with the versions this node took.
	busy     int
	deferred *Record
	// seq invalidates fired timers that were replaced; it outlives an
	// incarnation so that a timer message of the last one, still queued,
	// never matches a timer of the next.
	seq uint64
	// echoes are the generations of the transitions the coordinator made
	// on the handle itself: they are never published again.
	echoes []echo
}

// echo: the transitions to state to with generation in [lo, hi] were made
// by the coordinator.
type echo struct {
	lo, hi uint64
	to     cb.State
}

type coordinator struct {
	*shared
	timer     *time.Timer
	timerKind timerKind
	retry     *time.Timer
	sync      *time.Timer
}

// Messages of the actor's own; none is for users.
type (
	localTransition struct{ t cb.Transition }
	remoteRecord    struct{ rec Record }
	timerKind       int
	due             struct {
		kind timerKind
		seq  uint64
	}
	// Results of store operations.
	connected struct {
		sub            io.Closer
		subErr, getErr error
		rec            *Record
		joined         bool
	}
	published struct {
		rec Record
		err error
	}
	leased struct {
		ok    bool
		newer *Record
		err   error
	}
	synced struct{ rec *Record }
)

func (r *connected) discard() {
	if r.sub != nil {
		_ = r.sub.Close()
	}
}

// maxBacklog bounds the transitions kept for an actor that has not started.
const maxBacklog = 64

const (
	recoveryDue timerKind = iota // try the probe lease
	leaseEnd                     // our lease has expired
	retryDue                     // republish, resubscribe
	syncDue                      // re-read the state key
)

// listen is the handle's listener: the handle calls it one transition at a
// time, in generation order.
func (sh *shared) listen(t cb.Transition) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.self == nil {
		// Only the newest transition decides (onLocal), so a long
		// backlog keeps its tail.
		if len(sh.backlog) == maxBacklog {
			sh.backlog = append(sh.backlog[:0], sh.backlog[1:]...)
		}
		sh.backlog = append(sh.backlog, t)
		return
	}
	sh.root.Send(sh.self, &localTransition{t: t})
}

func (c *coordinator) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case *actor.Restarting:
		c.halt(false)
	case *actor.Stopping:
		c.halt(true)
	case *localTransition:
		c.onLocal(m.t)
	case *remoteRecord:
		c.onBus(m.rec)
	case *due:
		c.onDue(m)
	case *connected:
		c.onConnected(m)
	case *published:
		c.onPublished(m)
	case *leased:
		c.onLeased(m)
	case *synced:
		c.busy--
		c.syncing = false
		if m.rec != nil && m.rec.Version > c.seen {
			c.log.Debug("s2: the stored state is newer than the bus said", zap.Int64("version", m.rec.Version))
			c.onRemote(*m.rec)
		}
		c.flush()
	case *Ping:
		if c.answered {
			ctx.Respond(&Pong{})
		} else if s := ctx.Sender(); s != nil {
			c.pings = append(c.pings, s)
		}
	case *GetStatus:
		ctx.Respond(c.status())
	}
}

func (c *coordinator) start(ctx actor.Context) {
	root, self := ctx.ActorSystem().Root, ctx.Self()
	c.mu.Lock()
	if c.unsubB == nil {
		// Spawned again after a stop ended the subscription.
		c.unsubB = c.b.Subscribe(c.listen)
	}
	backlog := c.backlog
	c.backlog, c.root, c.self = nil, root, self
	c.mu.Unlock()
	if c.io == nil {
		c.io = newIOQueue(c.env.Timeout, func(m any) { root.Send(self, m) })
	}
	for _, t := range backlog {
		c.onLocal(t)
	}
	c.connect()
	c.rearm()
	c.armSync()
}

// connect subscribes to the bus and joins the cluster's state, retrying
// later when the store does not answer.
func (c *coordinator) connect() {
	if c.connecting || c.sub != nil && c.joined {
		return
	}
	c.connecting = true
	c.busy++
	needSub, needJoin := c.sub == nil, !c.joined
	tr, own := c.tr, c.env.Node
	root, self := c.root, c.self
	c.io.do(func(ctx context.Context) any {
		r := &connected{}
		if needSub {
			r.sub, r.subErr = tr.Subscribe(ctx, func(rec Record) {
				if rec.Node != own {
					root.Send(self, &remoteRecord{rec: rec})
				}
			})
			if r.subErr != nil {
				return r
			}
		}
		if needJoin {
			r.rec, r.getErr = tr.Read(ctx)
			r.joined = r.getErr == nil
		}
		return r
	})
}

func (c *coordinator) onConnected(r *connected) {
	c.connecting = false
	c.busy--
	if r.sub != nil {
		c.sub = r.sub
	}
	switch {
	case r.subErr != nil:
		c.log.Warn("s2: cannot subscribe to the breaker bus; retrying", zap.Error(r.subErr))
		c.armRetry()
	case r.getErr != nil:
		c.log.Warn("s2: cannot read the shared breaker state; retrying", zap.Error(r.getErr))
		c.armRetry()
	case r.joined:
		c.joined = true
		if r.rec != nil {
			c.onRemote(*r.rec)
		}
	}
	if !c.answered {
		// Joined, or retrying: either way a node that starts need not
		// wait any longer.
		c.answered = true
		for _, p := range c.pings {
			c.root.Send(p, &Pong{})
		}
		c.pings = nil
	}
	c.flush()
}

// halt stops this incarnation's timers; final also ends the subscriptions
// and, within Env.Timeout, finishes the queued store operations and
// releases the lease.
func (c *coordinator) halt(final bool) {
	c.seq++
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.retry != nil {
		c.retry.Stop()
		c.retry = nil
	}
	if c.sync != nil {
		c.sync.Stop()
		c.sync = nil
	}
	if !final {
		return
	}
	c.mu.Lock()
	if c.unsubB != nil {
		c.unsubB()
		c.unsubB = nil
	}
	c.self = nil
	c.mu.Unlock()
	var last []func(context.Context) any
	if c.lease {
		last = append(last, c.releaseOp())
		c.lease = false
	}
	if sub := c.sub; sub != nil {
		c.sub = nil
		last = append(last, func(context.Context) any { _ = sub.Close(); return nil })
	}
	if c.io != nil {
		// Stopping waits for the store, bounded: the node closes the
		// store once every system has stopped.
		c.io.close(last...)
		c.io = nil
	}
}

// apply changes the handle itself and remembers the generations it made,
// so that their transitions are known as echoes when they come back.
func (c *coordinator) apply(to cb.State, fn func()) {
	before := c.b.Generation()
	fn()
	if after := c.b.Generation(); after > before {
		c.echoes = append(c.echoes, echo{lo: before + 1, hi: after, to: to})
	}
}

// isEcho reports whether the coordinator made t. Transitions come in
// generation order, so older echoes can go.
func (c *coordinator) isEcho(t cb.Transition) bool {
	for len(c.echoes) > 0 && c.echoes[0].hi < t.Generation {
		c.echoes = c.echoes[1:]
	}
	for _, e := range c.echoes {
		if t.Generation >= e.lo && t.Generation <= e.hi && t.To == e.to {
			return true
		}
	}
	return false
}

// hold keeps the handle open for the cluster: not a manual open, no
// recovery of its own.
func (c *coordinator) hold() { c.apply(cb.Open, func() { c.b.Hold(cb.ReasonClusterOpen) }) }

// onLocal handles a transition of the local handle.
func (c *coordinator) onLocal(t cb.Transition) {
	echo := c.isEcho(t)
	c.log.Debug("s2: local transition", zap.Stringer("to", t.To), zap.String("reason", string(t.Reason)),
		zap.Uint64("gen", t.Generation), zap.Bool("echo", echo))
	if echo || t.Reason == cb.ReasonClusterOpen {
		return
	}
	if c.b.Generation() != t.Generation {
		return // a newer transition follows and decides
	}
	switch t.To {
	case cb.Open:
		if t.Reason == cb.ReasonManualOpen {
			// A manual open, held or not: every node opens by hand.
			c.stopTimer()
			c.publish(Record{State: cb.Open, Manual: true, Reason: t.Reason})
			c.releaseIfHeld()
			return
		}
		// Tripped, or our probe failed: hold it open so that only the
		// lease lets it probe, and tell the cluster.
		// The verdict is queued before the lease goes, so that whoever
		// takes the lease next sees it (acquireLease reads the state key).
		c.hold()
		c.publish(Record{State: cb.Open, Reason: t.Reason})
		c.releaseIfHeld()
		c.armTimer(recoveryDue, c.b.Settings().RecoveryTimeout)
	case cb.Closed:
		c.stopTimer()
		c.publish(Record{State: cb.Closed, Reason: t.Reason})
		c.releaseIfHeld()
	case cb.HalfOpen:
		if !c.lease {
			c.hold() // recovered on its own before it was held
			c.armTimer(recoveryDue, 0)
		}
	}
}

// onBus takes a Record from the bus: at once, or once the operations that
// may number Records are done.
func (c *coordinator) onBus(rec Record) {
	if c.busy > 0 {
		if c.deferred == nil || rec.Version > c.deferred.Version {
			c.deferred = &rec
		} else {
			c.env.Stats.Stale.Add(1)
		}
		return
	}
	c.onRemote(rec)
}

// flush applies the deferred Record once nothing is busy.
func (c *coordinator) flush() {
	if c.busy == 0 && c.deferred != nil {
		rec := *c.deferred
		c.deferred = nil
		c.onRemote(rec)
	}
}

// onRemote applies another node's Record if it is newer than any seen.
func (c *coordinator) onRemote(rec Record) {
	c.log.Debug("s2: record", zap.Stringer("state", rec.State), zap.Int64("version", rec.Version),
		zap.Int64("seen", c.seen), zap.String("from", rec.Node))
	if rec.Version <= c.seen {
		c.env.Stats.Stale.Add(1)
		return
	}
	c.seen, c.last = rec.Version, rec
	c.pending = nil // superseded
	c.env.Stats.Applied.Add(1)
	switch rec.State {
	case cb.Open:
		c.releaseIfHeld()
		if rec.Manual {
			// A manual open on another node is one here too: forced, no
			// recovery until a close or reset.
			c.apply(cb.Open, c.b.Open)
			c.stopTimer()
		} else {
			c.hold()
			rt := c.b.Settings().RecoveryTimeout
			c.armTimer(recoveryDue, min(max(rt-time.Since(rec.At), 0), rt))
		}
	case cb.HalfOpen:
		c.lease = false // another node holds it
		c.hold()
		c.armTimer(recoveryDue, c.env.LeaseTTL)
	case cb.Closed:
		c.lease = false
		c.stopTimer()
		if rec.Reason == cb.ReasonReset {
			c.apply(cb.Closed, c.b.Reset)
		} else {
			c.apply(cb.Closed, c.b.Close)
		}
	}
}

func (c *coordinator) onDue(m *due) {
	if m.kind == syncDue {
		c.sync = nil
		c.resync()
		c.armSync()
		return
	}
	if m.kind == retryDue {
		c.retry = nil
		c.connect()
		if c.pending != nil && c.publishing == 0 {
			c.publish(*c.pending)
		}
		return
	}
	if m.seq != c.seq {
		return // replaced by a later timer
	}
	c.timer = nil
	switch m.kind {
	case recoveryDue:
		c.tryProbe()
	case leaseEnd:
		if c.lease && c.b.State() == cb.HalfOpen {
			// No verdict within the lease: let another node try.
			c.lease = false
			c.hold()
			c.armTimer(recoveryDue, c.b.Settings().RecoveryTimeout)
		}
	}
}

func (c *coordinator) manualOpen() bool { return c.last.Manual && c.last.State == cb.Open }

// tryProbe asks for the probe lease; onLeased lets the handle probe if it
// was granted.
func (c *coordinator) tryProbe() {
	if c.leasing || c.b.State() != cb.Open || c.manualOpen() {
		return
	}
	c.leasing = true
	c.busy++
	tr, node, ttl, seen := c.tr, c.env.Node, c.env.LeaseTTL, c.seen
	c.io.do(func(ctx context.Context) any {
		ok, newer, err := tr.AcquireLease(ctx, node, ttl, seen)
		return &leased{ok: ok, newer: newer, err: err}
	})
}

func (c *coordinator) onLeased(r *leased) {
	c.leasing = false
	c.busy--
	defer c.flush()
	c.log.Debug("s2: probe lease", zap.Bool("taken", r.ok), zap.Error(r.err))
	if r.newer != nil {
		// The cluster moved on (another node's verdict not yet delivered
		// here): follow it instead of probing.
		c.onRemote(*r.newer)
		if c.b.State() == cb.Open && !c.manualOpen() && c.timer == nil {
			c.armTimer(recoveryDue, c.env.LeaseTTL)
		}
		return
	}
	if c.b.State() != cb.Open || c.manualOpen() {
		// Closed or opened by hand while the request was out.
		if r.ok {
			c.io.do(c.releaseOp())
		}
		return
	}
	switch {
	case r.err != nil && errors.Is(r.err, state.ErrUnavailable):
		// Without the store nobody can coordinate: recover as a local
		// breaker would rather than stay open for ever.
		c.log.Warn("s2: store unreachable; probing without the cluster lease", zap.Error(r.err))
		c.env.Stats.LocalProbes.Add(1)
		c.apply(cb.HalfOpen, func() { c.b.HalfOpen() })
	case r.err != nil || !r.ok:
		c.armTimer(recoveryDue, c.env.LeaseTTL)
	default:
		c.lease = true
		c.env.Stats.Leases.Add(1)
		c.apply(cb.HalfOpen, func() { c.b.HalfOpen() })
		c.publish(Record{State: cb.HalfOpen, Reason: cb.ReasonRecoveryTimeout})
		c.armTimer(leaseEnd, c.env.LeaseTTL)
	}
}

// acquireLease sets the lease key to node, with its expiry, unless another
// node holds it or the stored state is newer than seen (then it returns
// that state instead). The transaction watches both keys, so of two nodes
// racing exactly one wins, and a verdict stored meanwhile is never
// overtaken by a probe decided before it.
func acquireLease(ctx context.Context, st state.Store, k keys, node string, ttl time.Duration, seen int64) (bool, *Record, error) {
	var got bool
	var newer *Record
	err := st.Transaction(ctx, []string{k.leaseKey, k.stateKey}, func(tx state.Tx) error {
		got, newer = false, nil
		var cur Record
		if err := tx.Get(ctx, k.stateKey, &cur); err == nil && cur.Version > seen {
			newer = &cur
			return nil
		} else if err != nil && !errors.Is(err, state.ErrNotFound) && !errors.Is(err, state.ErrDecode) {
			return err
		}
		var holder string
		err := tx.Get(ctx, k.leaseKey, &holder)
		switch {
		case err == nil:
			got = holder == node
			if got {
				tx.Expire(k.leaseKey, ttl)
			}
			return nil
		case errors.Is(err, state.ErrNotFound), errors.Is(err, state.ErrDecode):
			got = true
			return tx.Set(k.leaseKey, node, state.Expire(ttl))
		}
		return err
	})
	if err != nil {
		return false, nil, err
	}
	return got, newer, nil
}

func (c *coordinator) releaseIfHeld() {
	if c.lease {
		c.lease = false
		c.io.do(c.releaseOp())
	}
}

// releaseOp deletes the lease if this node still holds it.
func (c *coordinator) releaseOp() func(context.Context) any {
	tr, node, log := c.tr, c.env.Node, c.log
	return func(ctx context.Context) any {
		if err := tr.ReleaseLease(ctx, node); err != nil {
			log.Debug("s2: cannot release the probe lease; it expires by itself", zap.Error(err))
		}
		return nil
	}
}

// publish queues rec to be numbered, sent on the bus and stored. When the
// store does not answer, rec is kept and retried until a newer Record
// supersedes it.
func (c *coordinator) publish(rec Record) {
	if rec.Node == "" {
		rec.Node, rec.At = c.env.Node, time.Now()
	}
	c.pending = nil
	c.publishing++
	c.busy++
	tr, seen, stats, count := c.tr, c.seen, c.env.Stats, c.env.Transport != nil
	c.io.do(func(ctx context.Context) any {
		rec, err := tr.Publish(ctx, rec, seen)
		if err == nil && count {
			stats.Published.Add(1) // the store transport counts its own
		}
		return &published{rec: rec, err: err}
	})
}

// publishRecord numbers rec (unless it was numbered by an earlier attempt),
// publishes it and stores it under the state key unless a newer Record is
// stored already. An error before the publish is returned with rec as far
// as it got. It counts the publish before it stores the Record, so that
// whoever reads the stored Record sees it counted.
func publishRecord(ctx context.Context, st state.Store, k keys, rec Record, seen int64, log *zap.Logger, stats *Stats) (Record, error) {
	if rec.Version == 0 {
		v, err := st.Incr(ctx, k.verKey)
		if err == nil && v <= seen {
			// The counter was lost (a Redis restart without persistence):
			// move it past every version this node has seen, or peers
			// would take the new Records for stale ones.
			v, err = st.IncrBy(ctx, k.verKey, seen-v+1)
		}
		if err != nil {
			return rec, err
		}
		rec.Version = v
	}
	if err := st.Publish(ctx, k.channel, rec); err != nil {
		return rec, err
	}
	stats.Published.Add(1)
	err := st.Transaction(ctx, []string{k.stateKey}, func(tx state.Tx) error {
		var cur Record
		err := tx.Get(ctx, k.stateKey, &cur)
		switch {
		case err == nil && cur.Version >= rec.Version:
			return nil // a newer Record is stored already
		case err == nil, errors.Is(err, state.ErrNotFound), errors.Is(err, state.ErrDecode):
			return tx.Set(k.stateKey, rec)
		}
		return err
	})
	if err != nil {
		log.Warn("s2: cannot store the shared breaker state", zap.Error(err))
	}
	return rec, nil
}

func (c *coordinator) onPublished(r *published) {
	c.publishing--
	c.busy--
	defer c.flush()
	rec := r.rec
	if rec.Version > 0 {
		if rec.Version > c.seen {
			c.seen, c.last = rec.Version, rec
		}
	}
	if r.err != nil {
		c.log.Warn("s2: cannot publish the breaker's state; retrying",
			zap.String("state", rec.State.String()), zap.Error(r.err))
		if c.publishing == 0 && (rec.Version == 0 || rec.Version >= c.seen) {
			// Not superseded by a later decision or a newer Record.
			c.pending = &rec
			c.armRetry()
		}
		return
	}
	c.log.Debug("s2: published", zap.Stringer("state", rec.State), zap.Int64("version", rec.Version))
}

// rearm restores the timer a restart lost, from the last known state.
func (c *coordinator) rearm() {
	switch {
	case c.lease && c.b.State() == cb.HalfOpen:
		c.armTimer(leaseEnd, c.env.LeaseTTL)
	case c.b.State() == cb.Open && !c.manualOpen() && c.seen > 0:
		c.armTimer(recoveryDue, c.b.Settings().RecoveryTimeout)
	}
	if c.pending != nil || !c.joined && !c.connecting {
		c.armRetry()
	}
}

func (c *coordinator) armTimer(kind timerKind, d time.Duration) {
	c.stopTimer()
	seq, root, self := c.seq, c.root, c.self
	c.timerKind = kind
	c.timer = time.AfterFunc(max(d, 0), func() { root.Send(self, &due{kind: kind, seq: seq}) })
}

func (c *coordinator) stopTimer() {
	c.seq++
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

func (c *coordinator) armSync() {
	if c.sync != nil {
		c.sync.Stop()
	}
	root, self := c.root, c.self
	c.sync = time.AfterFunc(c.env.SyncEvery, func() { root.Send(self, &due{kind: syncDue}) })
}

// resync queues a re-read of the stored state; it is applied if newer than
// any seen.
func (c *coordinator) resync() {
	if c.syncing {
		return
	}
	c.syncing = true
	c.busy++
	tr := c.tr
	c.io.do(func(ctx context.Context) any {
		rec, err := tr.Read(ctx)
		if err != nil {
			return &synced{}
		}
		return &synced{rec: rec}
	})
}

func (c *coordinator) armRetry() {
	if c.retry != nil {
		return
	}
	root, self := c.root, c.self
	c.retry = time.AfterFunc(c.env.RetryEvery, func() { root.Send(self, &due{kind: retryDue}) })
}

// status is the coordinator's view, answered at once whatever the store is
// doing.
func (c *coordinator) status() *Status {
	s := &Status{
		State:      c.b.State(),
		Cluster:    c.last,
		Version:    c.seen,
		Joined:     c.joined,
		Lease:      c.lease,
		Recovering: c.timer != nil && c.timerKind == recoveryDue,
		Pending:    c.pending != nil,
	}
	if c.io != nil {
		s.Queued = c.io.queued()
	}
	if c.deferred != nil {
		s.Deferred = c.deferred.Version
	}
	return s
}
