package coord

import (
	"context"
	"errors"
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
	// Store carries the bus, the state key and the lease. Required.
	Store state.Store
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
// incarnation (restarts included) shares the subscriptions and the last
// version seen.
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
		b:        b,
		env:      env,
		log:      env.Logger.With(zap.String("breaker", name)),
		channel:  Channel(env.Cluster, name),
		stateKey: StateKey(env.Cluster, name),
		verKey:   VersionKey(env.Cluster, name),
		leaseKey: LeaseKey(env.Cluster, name),
	}
	sh.expect.Store(-1)
	return actor.PropsFromProducer(func() actor.Actor { return &coordinator{shared: sh} })
}

// shared outlives an actor instance. Fields below expect are used only by
// the actor, one incarnation at a time.
type shared struct {
	b   *cb.Breaker
	env Env
	log *zap.Logger

	channel, stateKey, verKey, leaseKey string

	// expect is the state the coordinator is moving b to itself (-1: none):
	// the listener marks such transitions as echoes, never to be published.
	expect atomic.Int32

	unsubB  func()
	sub     state.Subscription
	joined  bool
	seen    int64   // highest version applied or published
	last    Record  // the cluster's state as last known
	lease   bool    // this node holds the probe lease
	pending *Record // a decision not yet published (store unreachable)
}

type coordinator struct {
	*shared
	self  *actor.PID
	root  *actor.RootContext
	seq   uint64 // invalidates fired timers that were replaced
	timer *time.Timer
	retry *time.Timer
	sync  *time.Timer
}

// Messages of the actor's own; none is for users.
type (
	localTransition struct {
		t    cb.Transition
		echo bool
	}
	remoteRecord struct{ rec Record }
	timerKind    int
	due          struct {
		kind timerKind
		seq  uint64
	}
)

const (
	recoveryDue timerKind = iota // try the probe lease
	leaseEnd                     // our lease has expired
	retryDue                     // republish, resubscribe
	syncDue                      // re-read the state key
)

func (c *coordinator) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case *actor.Restarting:
		c.halt(false)
	case *actor.Stopping:
		c.halt(true)
	case *localTransition:
		c.onLocal(m)
	case *remoteRecord:
		c.onRemote(m.rec)
	case *due:
		c.onDue(m)
	case *Ping:
		ctx.Respond(&Pong{})
	}
}

func (c *coordinator) start(ctx actor.Context) {
	c.self, c.root = ctx.Self(), ctx.ActorSystem().Root
	if c.unsubB == nil {
		root, self, sh := c.root, c.self, c.shared
		c.unsubB = c.b.Subscribe(func(t cb.Transition) {
			root.Send(self, &localTransition{t: t, echo: sh.expect.Load() == int32(t.To)})
		})
	}
	c.connect()
	c.rearm()
	c.armSync()
}

// connect subscribes to the bus and joins the cluster's state, retrying
// later when the store does not answer.
func (c *coordinator) connect() {
	if c.sub == nil {
		ctx, cancel := c.opCtx()
		root, self, own := c.root, c.self, c.env.Node
		sub, err := c.env.Store.Subscribe(ctx, c.channel, func(m state.Message) {
			var rec Record
			if err := m.Decode(&rec); err != nil || rec.Node == own {
				return
			}
			root.Send(self, &remoteRecord{rec: rec})
		})
		cancel()
		if err != nil {
			c.log.Warn("s2: cannot subscribe to the breaker bus; retrying", zap.Error(err))
			c.armRetry()
			return
		}
		c.sub = sub
	}
	if !c.joined {
		ctx, cancel := c.opCtx()
		var rec Record
		err := c.env.Store.Get(ctx, c.stateKey, &rec)
		cancel()
		switch {
		case err == nil:
			c.joined = true
			c.onRemote(rec)
		case errors.Is(err, state.ErrNotFound):
			c.joined = true
		default:
			c.log.Warn("s2: cannot read the shared breaker state; retrying", zap.Error(err))
			c.armRetry()
		}
	}
}

// halt stops this incarnation's timers; final also ends the subscriptions.
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
	if c.unsubB != nil {
		c.unsubB()
		c.unsubB = nil
	}
	if c.sub != nil {
		_ = c.sub.Close()
		c.sub = nil
	}
	if c.lease {
		c.releaseLease()
	}
}

func (c *coordinator) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.env.Timeout)
}

// apply changes the handle itself; the transition it makes is an echo.
func (c *coordinator) apply(to cb.State, fn func()) {
	c.expect.Store(int32(to))
	fn()
	c.expect.Store(-1)
}

func (c *coordinator) hold() { c.apply(cb.Open, c.b.Open) }

// onLocal handles a transition of the local handle.
func (c *coordinator) onLocal(m *localTransition) {
	t := m.t
	c.log.Debug("s2: local transition", zap.Stringer("to", t.To), zap.String("reason", string(t.Reason)),
		zap.Uint64("gen", t.Generation), zap.Bool("echo", m.echo))
	if m.echo {
		return
	}
	if c.b.Stats().Generation != t.Generation {
		return // a newer transition follows and decides
	}
	switch t.To {
	case cb.Open:
		if t.Reason == cb.ReasonManualOpen {
			c.stopTimer()
			c.publish(Record{State: cb.Open, Manual: true, Reason: t.Reason})
			c.releaseIfHeld()
			return
		}
		// Tripped, or our probe failed: hold it open so that only the
		// lease lets it probe, and tell the cluster.
		// The verdict is stored before the lease goes, so that whoever
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
		c.hold()
		if rec.Manual {
			c.stopTimer()
		} else {
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
		if c.pending != nil {
			rec := *c.pending
			c.publish(rec)
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

// tryProbe takes the probe lease and, with it, lets the handle probe.
func (c *coordinator) tryProbe() {
	if c.b.State() != cb.Open || c.last.Manual && c.last.State == cb.Open {
		return
	}
	ok, newer, err := c.acquireLease()
	c.log.Debug("s2: probe lease", zap.Bool("taken", ok), zap.Error(err))
	if newer != nil {
		// The cluster moved on (another node's verdict not yet delivered
		// here): follow it instead of probing.
		c.onRemote(*newer)
		if c.b.State() == cb.Open && !c.last.Manual && c.timer == nil {
			c.armTimer(recoveryDue, c.env.LeaseTTL)
		}
		return
	}
	switch {
	case err != nil && errors.Is(err, state.ErrUnavailable):
		// Without the store nobody can coordinate: recover as a local
		// breaker would rather than stay open for ever.
		c.log.Warn("s2: store unreachable; probing without the cluster lease", zap.Error(err))
		c.env.Stats.LocalProbes.Add(1)
		c.apply(cb.HalfOpen, func() { c.b.HalfOpen() })
	case err != nil || !ok:
		c.armTimer(recoveryDue, c.env.LeaseTTL)
	default:
		c.lease = true
		c.env.Stats.Leases.Add(1)
		c.apply(cb.HalfOpen, func() { c.b.HalfOpen() })
		c.publish(Record{State: cb.HalfOpen, Reason: cb.ReasonRecoveryTimeout})
		c.armTimer(leaseEnd, c.env.LeaseTTL)
	}
}

// acquireLease sets the lease key to this node, with its expiry, unless
// another node holds it or the stored state is newer than any this node has
// seen (then it returns that state instead). The transaction watches both
// keys, so of two nodes racing exactly one wins, and a verdict stored
// meanwhile is never overtaken by a probe decided before it.
func (c *coordinator) acquireLease() (bool, *Record, error) {
	ctx, cancel := c.opCtx()
	defer cancel()
	var got bool
	var newer *Record
	err := c.env.Store.Transaction(ctx, []string{c.leaseKey, c.stateKey}, func(tx state.Tx) error {
		got, newer = false, nil
		var cur Record
		if err := tx.Get(ctx, c.stateKey, &cur); err == nil && cur.Version > c.seen {
			newer = &cur
			return nil
		} else if err != nil && !errors.Is(err, state.ErrNotFound) && !errors.Is(err, state.ErrDecode) {
			return err
		}
		var holder string
		err := tx.Get(ctx, c.leaseKey, &holder)
		switch {
		case err == nil:
			got = holder == c.env.Node
			if got {
				tx.Expire(c.leaseKey, c.env.LeaseTTL)
			}
			return nil
		case errors.Is(err, state.ErrNotFound), errors.Is(err, state.ErrDecode):
			got = true
			return tx.Set(c.leaseKey, c.env.Node, state.Expire(c.env.LeaseTTL))
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
		c.releaseLease()
	}
}

// releaseLease deletes the lease if this node still holds it.
func (c *coordinator) releaseLease() {
	c.lease = false
	ctx, cancel := c.opCtx()
	defer cancel()
	err := c.env.Store.Transaction(ctx, []string{c.leaseKey}, func(tx state.Tx) error {
		var holder string
		if tx.Get(ctx, c.leaseKey, &holder) == nil && holder == c.env.Node {
			tx.Del(c.leaseKey)
		}
		return nil
	})
	if err != nil {
		c.log.Debug("s2: cannot release the probe lease; it expires by itself", zap.Error(err))
	}
}

// publish numbers rec, sends it on the bus and stores it. When the store
// does not answer, rec is kept and retried until a newer Record supersedes
// it.
func (c *coordinator) publish(rec Record) {
	if rec.Node == "" {
		rec.Node, rec.At = c.env.Node, time.Now()
	}
	c.pending = nil
	ctx, cancel := c.opCtx()
	defer cancel()
	if rec.Version == 0 {
		v, err := c.env.Store.Incr(ctx, c.verKey)
		if err == nil && v <= c.seen {
			// The counter was lost (a Redis restart without persistence):
			// move it past every version this node has seen, or peers
			// would take the new Records for stale ones.
			v, err = c.env.Store.IncrBy(ctx, c.verKey, c.seen-v+1)
		}
		if err != nil {
			c.defer_(rec, err)
			return
		}
		rec.Version = v
		c.seen, c.last = max(c.seen, v), rec
	}
	if err := c.env.Store.Publish(ctx, c.channel, rec); err != nil {
		c.defer_(rec, err)
		return
	}
	c.env.Stats.Published.Add(1)
	c.log.Debug("s2: published", zap.Stringer("state", rec.State), zap.Int64("version", rec.Version))
	err := c.env.Store.Transaction(ctx, []string{c.stateKey}, func(tx state.Tx) error {
		var cur Record
		err := tx.Get(ctx, c.stateKey, &cur)
		switch {
		case err == nil && cur.Version >= rec.Version:
			return nil // a newer Record is stored already
		case err == nil, errors.Is(err, state.ErrNotFound), errors.Is(err, state.ErrDecode):
			return tx.Set(c.stateKey, rec)
		}
		return err
	})
	if err != nil {
		c.log.Warn("s2: cannot store the shared breaker state", zap.Error(err))
	}
}

func (c *coordinator) defer_(rec Record, err error) {
	c.log.Warn("s2: cannot publish the breaker's state; retrying",
		zap.String("state", rec.State.String()), zap.Error(err))
	c.pending = &rec
	c.armRetry()
}

// rearm restores the timer a restart lost, from the last known state.
func (c *coordinator) rearm() {
	switch {
	case c.lease && c.b.State() == cb.HalfOpen:
		c.armTimer(leaseEnd, c.env.LeaseTTL)
	case c.b.State() == cb.Open && !(c.last.Manual && c.last.State == cb.Open) && c.seen > 0:
		c.armTimer(recoveryDue, c.b.Settings().RecoveryTimeout)
	}
	if c.pending != nil {
		c.armRetry()
	}
}

func (c *coordinator) armTimer(kind timerKind, d time.Duration) {
	c.stopTimer()
	seq, root, self := c.seq, c.root, c.self
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

// resync applies the stored state if it is newer than any seen.
func (c *coordinator) resync() {
	ctx, cancel := c.opCtx()
	defer cancel()
	var rec Record
	if err := c.env.Store.Get(ctx, c.stateKey, &rec); err == nil && rec.Version > c.seen {
		c.log.Debug("s2: the stored state is newer than the bus said", zap.Int64("version", rec.Version))
		c.onRemote(rec)
	}
}

func (c *coordinator) armRetry() {
	if c.retry != nil {
		return
	}
	root, self := c.root, c.self
	c.retry = time.AfterFunc(c.env.RetryEvery, func() { root.Send(self, &due{kind: retryDue}) })
}
