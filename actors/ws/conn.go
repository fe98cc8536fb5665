package ws

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/gorilla/websocket"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// Env is what a connection gets from the node rather than from its
// config: live objects, not data.
type Env struct {
	// Events receives Connected, Disconnected, DialAttempted and
	// SendDropped; nil publishes none.
	Events *eventstream.EventStream
	// Alerts receives a Warning when a handler panics; nil raises none.
	Alerts algedonic.Raiser
	// Breaker, when set, guards every dial: an open breaker refuses the
	// attempt (an event with BreakerOpen) and the dial backs off.
	Breaker *breaker.Breaker
	// HandlerPID, when set, receives *Connected, *Received and
	// *Disconnected, besides Config.Handler. Local PIDs only: Disconnected
	// carries a Go error.
	HandlerPID *actor.PID
	// Logger; nil discards.
	Logger *slog.Logger
}

// State of a connection.
type State int32

const (
	// Connecting: no open connection; a dial is due, running or backing off.
	Connecting State = iota
	// Open: connected; sends are written as they come.
	Open
	// Closed: Close was called.
	Closed
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Open:
		return "open"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("state(%d)", int32(s))
}

// Stats are a connection's counters since New. They live in the Conn, so an
// actor restart keeps them.
type Stats struct {
	State        string `json:"state"`
	Endpoint     string `json:"endpoint,omitempty"`
	Connects     uint64 `json:"connects"`
	DialAttempts uint64 `json:"dial_attempts"`
	DialFailures uint64 `json:"dial_failures"`
	Sent         uint64 `json:"sent"`
	Received     uint64 `json:"received"`
	Queued       int    `json:"queued"`
	// Dropped is every send that was not written: QueueFull + NotConnected
	// + Expired + Abandoned.
	Dropped       uint64 `json:"dropped"`
	QueueFull     uint64 `json:"queue_full"`
	NotConnected  uint64 `json:"not_connected"`
	Expired       uint64 `json:"expired"`
	Abandoned     uint64 `json:"abandoned"` // left in the queue by Close
	HandlerPanics uint64 `json:"handler_panics"`
	HeartbeatLost uint64 `json:"heartbeat_lost"`
	Pongs         uint64 `json:"pongs"`
}

// Conn is one supervised WebSocket connection: the handle that any number
// of goroutines use to send, and the source of the actor (Props) that owns
// its life. The handle holds everything that must survive an actor restart
// (queue, subscriptions, counters); the actor holds the current
// incarnation's dial and session, and is the only one that decides to dial.
type Conn struct {
	name   string
	cfg    Config
	env    Env
	dialer *websocket.Dialer
	log    *slog.Logger

	// q is the bounded send queue (at most QueueSize), shared by every
	// session in turn, so what is queued while down is written, in order,
	// after the reconnect. qmu guards q and room; room is made by a Send
	// waiting for a free slot and closed by the next pop.
	qmu  sync.Mutex
	q    ring
	room chan struct{}
	// kick wakes the writer goroutine: something was queued. One pending
	// kick is enough, as the writer drains the whole queue per kick.
	kick chan struct{}
	// inline is the open session once its writer goroutine has caught up
	// (subscriptions, OnReconnect's messages, head, the queue), else nil.
	// A Send that finds that session's write token free and the queue
	// empty writes on the caller's goroutine, holding the token: see
	// writeInline.
	inline atomic.Pointer[session]
	// slot is held by one dial-then-session at a time. It is what makes the
	// writer unique even while a restarted actor's old session is closing.
	slot chan struct{}
	// head is a send taken from out whose write failed; the next session
	// writes it first, so a loss does not reorder sends. Only the slot
	// holder touches it.
	head *outMsg

	ctx    context.Context // ended by Close
	cancel context.CancelCauseFunc

	goMu sync.Mutex // orders wg.Add against Close's Wait
	shut bool
	wg   sync.WaitGroup

	mu        sync.Mutex
	subs      []Message
	live      *session // open session, for Subscribe's immediate send
	downSince time.Time
	endpoint  string
	spawnRoot *actor.RootContext // set by Spawn
	spawned   *actor.PID

	pid       atomic.Pointer[actor.PID]
	gen       atomic.Uint64 // actor incarnations
	sessions  atomic.Uint64 // sessions, across incarnations
	state     atomic.Int32
	connected atomic.Bool
	start     atomic.Int64 // index of the endpoint that last worked
	closeOnce sync.Once

	connects, dialAttempts, dialFailures, sent, received atomic.Uint64
	queueFull, notConnected, expired, abandoned          atomic.Uint64
	panics, heartbeatLost, pongs                         atomic.Uint64
}

// outMsg is one queued send.
type outMsg struct {
	typ      int
	data     []byte
	deadline time.Time
	// session, when not zero, is the only session it may be written on
	// (Subscribe's immediate send: any later session replays it anyway).
	session uint64
}

// New returns a connection named name (its actor's stable name below its
// supervisor, and the Conn field of its events). It dials nothing until
// its actor (Props, ChildSpec) is spawned.
func New(name string, cfg Config, env Env) (*Conn, error) {
	tlsCfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	cfg = cfg.normalized()
	cfg.Endpoints = append([]string(nil), cfg.Endpoints...)
	cfg.Header = cfg.Header.Clone()
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Conn{
		name: name,
		cfg:  cfg,
		env:  env,
		log:  env.Logger.With("conn", name),
		dialer: &websocket.Dialer{
			Proxy:            http.ProxyFromEnvironment,
			HandshakeTimeout: cfg.DialTimeout,
			TLSClientConfig:  tlsCfg,
			// A write buffer only while a message is being written: an idle
			// connection holds none (4 KiB less each), for one pool round
			// trip per message. Per Conn, as no state is global here; an
			// idle connection's buffer goes back to the heap after two GCs.
			WriteBufferPool: &sync.Pool{},
		},
		kick: make(chan struct{}, 1),
		slot: make(chan struct{}, 1),
		subs: append([]Message(nil), cfg.Subscriptions...),
	}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	return c, nil
}

// Name is the connection's name.
func (c *Conn) Name() string { return c.name }

// PID is the connection actor's PID once it has started, else nil.
func (c *Conn) PID() *actor.PID { return c.pid.Load() }

// State is the connection's state now.
func (c *Conn) State() State { return State(c.state.Load()) }

// Props produce the connection's actor. One Conn backs one live actor at a
// time; a restarted actor redials at once, and the queue, subscriptions
// and counters carry over.
func (c *Conn) Props() *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &connActor{c: c} })
}

// Spawn starts the connection's actor from root, named by Name, for use
// without a supervisor of ours (protoactor's default one restarts it).
// Close then stops it too.
func (c *Conn) Spawn(root *actor.RootContext) (*actor.PID, error) {
	pid, err := root.SpawnNamed(c.Props(), c.name)
	if err != nil {
		return nil, fmt.Errorf("ws: spawn %s: %w", c.name, err)
	}
	c.mu.Lock()
	c.spawnRoot, c.spawned = root, pid
	c.mu.Unlock()
	return pid, nil
}

// ChildSpec is the connection as a supervised worker named by Name.
func (c *Conn) ChildSpec() supervisor.ChildSpec { return supervisor.Worker(c.name, c.Props()) }

// Send queues m to be written. While the connection is open and the queue
// is full, it waits for room until ctx ends; while it is down, a full
// queue fails at once with ErrQueueFull (Queue policy), and every send
// fails with ErrNotConnected (FailFast). The send waits in the queue until
// ctx's deadline or QueueTimeout, whichever is first. A queued Send
// returns when m is queued, not written. Safe for concurrent use.
//
// While the connection is open, its write token free (the writer
// goroutine idle) and the queue empty, Send writes m on the caller's
// goroutine instead, and returns once it is written: that saves the
// round trip's hand-off to the writer. Such a write is bounded by
// WriteTimeout, not by ctx (cutting a WebSocket write short corrupts the
// connection), so a ctx whose deadline is sooner than WriteTimeout always
// goes through the queue. If the write fails, m is kept and written first
// on the next connection, as a queued send would be, and Send returns
// nil.
func (c *Conn) Send(ctx context.Context, m Message) error {
	return c.send(ctx, m, true)
}

// SendText sends s as a text message.
func (c *Conn) SendText(ctx context.Context, s string) error {
	// []byte(s) is a fresh copy already.
	return c.send(ctx, Message{Type: Text, Data: []byte(s)}, false)
}

// SendBinary sends a copy of b as a binary message.
func (c *Conn) SendBinary(ctx context.Context, b []byte) error {
	return c.Send(ctx, Message{Type: Binary, Data: b})
}

// SendJSON sends v, encoded as JSON, as a text message.
func (c *Conn) SendJSON(ctx context.Context, v any) error {
	m, err := JSONMessage(v)
	if err != nil {
		return err
	}
	return c.send(ctx, m, false) // m.Data is ours
}

// send writes m inline when it can, else queues it; copyData says that
// the caller still owns m.Data.
func (c *Conn) send(ctx context.Context, m Message, copyData bool) error {
	if err := c.check(m); err != nil {
		return err
	}
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	if c.writeInline(ctx, m, copyData) {
		return nil
	}
	return c.enqueue(ctx, c.newOut(m, ctxDeadline(ctx), copyData), true)
}

// TrySend is Send that never waits: a full queue fails with ErrQueueFull
// whatever the state. deadline zero means QueueTimeout.
func (c *Conn) TrySend(m Message, deadline time.Time) error {
	om, err := c.prepare(m, deadline, true)
	if err != nil {
		return err
	}
	return c.enqueue(context.Background(), om, false)
}

func ctxDeadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// prepare checks m and makes the queued send, copying m.Data when the
// caller still owns it (it may reuse its buffer once Send returns, long
// before the write).
func (c *Conn) prepare(m Message, deadline time.Time, copyData bool) (*outMsg, error) {
	if err := c.check(m); err != nil {
		return nil, err
	}
	return c.newOut(m, deadline, copyData), nil
}

// check refuses what can never be sent.
func (c *Conn) check(m Message) error {
	if m.Type != Text && m.Type != Binary {
		return fmt.Errorf("ws: cannot send message type %v", m.Type)
	}
	if n := int64(len(m.Data)); n > c.cfg.MaxMessageSize {
		return &TooLargeError{Size: n, Limit: c.cfg.MaxMessageSize}
	}
	return nil
}

// newOut makes the queued form of a checked m.
func (c *Conn) newOut(m Message, deadline time.Time, copyData bool) *outMsg {
	limit := c.cfg.now().Add(c.cfg.QueueTimeout)
	if deadline.IsZero() || deadline.After(limit) {
		deadline = limit
	}
	data := m.Data
	if copyData {
		data = append([]byte(nil), m.Data...)
	}
	return &outMsg{typ: int(m.Type), data: data, deadline: deadline}
}

func (c *Conn) enqueue(ctx context.Context, om *outMsg, wait bool) error {
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	connected := c.connected.Load()
	if !connected && c.cfg.WhileDisconnected == FailFast {
		c.notConnected.Add(1)
		return ErrNotConnected
	}
	for {
		c.qmu.Lock()
		if c.q.len() < c.cfg.QueueSize {
			c.q.push(om)
			c.qmu.Unlock()
			c.wake()
			return nil
		}
		if !connected || !wait {
			c.qmu.Unlock()
			c.queueFull.Add(1)
			return ErrQueueFull
		}
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.qmu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			c.queueFull.Add(1)
			return fmt.Errorf("%w: %w", ErrQueueFull, context.Cause(ctx))
		case <-c.ctx.Done():
			return ErrClosed
		}
	}
}

// wake tells the writer goroutine that something is queued.
func (c *Conn) wake() {
	select {
	case c.kick <- struct{}{}:
	default: // a kick is pending: the writer will see this send too
	}
}

// pop takes the oldest queued send, or nil, and frees its slot for a
// Send waiting for room.
func (c *Conn) pop() *outMsg {
	c.qmu.Lock()
	m := c.q.pop()
	if m != nil && c.room != nil {
		close(c.room)
		c.room = nil
	}
	c.qmu.Unlock()
	return m
}

func (c *Conn) queued() int {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.q.len()
}

// Subscribe declares m as a subscription: it is written now if the
// connection is open, and again after every reconnect, before anything
// queued.
func (c *Conn) Subscribe(m Message) error {
	om, err := c.prepare(m, time.Time{}, true)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.subs = append(c.subs, Message{Type: m.Type, Data: om.data})
	live := c.live
	c.mu.Unlock()
	if live == nil {
		return nil // the next session replays it
	}
	om.session = live.id
	c.qmu.Lock()
	if c.q.len() >= c.cfg.QueueSize {
		c.qmu.Unlock()
		// Queue full: it is replayed on the next connect; say so.
		c.queueFull.Add(1)
		return ErrQueueFull
	}
	c.q.push(om)
	c.qmu.Unlock()
	c.wake()
	return nil
}

// Subscriptions returns the declared subscriptions in replay order.
func (c *Conn) Subscriptions() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.subs...)
}

// Stats returns the counters now.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	ep := c.endpoint
	c.mu.Unlock()
	s := Stats{
		State:         c.State().String(),
		Endpoint:      ep,
		Connects:      c.connects.Load(),
		DialAttempts:  c.dialAttempts.Load(),
		DialFailures:  c.dialFailures.Load(),
		Sent:          c.sent.Load(),
		Received:      c.received.Load(),
		Queued:        c.queued(),
		QueueFull:     c.queueFull.Load(),
		NotConnected:  c.notConnected.Load(),
		Expired:       c.expired.Load(),
		Abandoned:     c.abandoned.Load(),
		HandlerPanics: c.panics.Load(),
		HeartbeatLost: c.heartbeatLost.Load(),
		Pongs:         c.pongs.Load(),
	}
	s.Dropped = s.QueueFull + s.NotConnected + s.Expired + s.Abandoned
	return s
}

// Close ends the connection for good: sends fail with ErrClosed, the open
// session (if any) writes a close frame and waits up to CloseTimeout for
// the peer's, and no dial starts again. It returns when every goroutine of
// the connection has ended, or with ctx's error. What is still queued is
// dropped and counted as Abandoned. It does not stop the actor (its
// supervisor does) unless Spawn started it; an actor whose Conn is closed
// idles. Idempotent.
func (c *Conn) Close(ctx context.Context) error {
	c.mu.Lock()
	root, pid := c.spawnRoot, c.spawned
	c.spawned = nil
	c.mu.Unlock()
	if pid != nil {
		if err := stopActor(ctx, root, pid); err != nil {
			return err
		}
	}
	c.closeOnce.Do(func() {
		c.goMu.Lock()
		c.shut = true
		c.goMu.Unlock()
		c.state.Store(int32(Closed))
		c.cancel(ErrClosed)
	})
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	if c.head != nil { // every goroutine has ended: nobody else touches it
		c.head = nil
		c.abandoned.Add(1)
	}
	for c.pop() != nil {
		c.abandoned.Add(1)
	}
	return nil
}

// goAsync runs fn on a goroutine counted by Close, unless Close has begun.
func (c *Conn) goAsync(fn func()) bool {
	c.goMu.Lock()
	defer c.goMu.Unlock()
	if c.shut {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
	return true
}

func (c *Conn) publish(ev any) {
	if c.env.Events != nil {
		c.env.Events.Publish(ev)
	}
}

// errStopped ends the sessions of an actor its supervisor stopped: for
// the application the connection is closed.
var errStopped = fmt.Errorf("%w: connection actor stopped", ErrClosed)
