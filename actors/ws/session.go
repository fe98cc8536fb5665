package ws

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/viable-systems/vsm-connections/breaker"
)

// session is one open WebSocket: a reader goroutine and a writer
// goroutine (the one that dialled it). Every frame of ours is written
// under the session's write token (wmu), so one goroutine writes at a
// time, as gorilla requires: the writer goroutine for subscriptions,
// queued sends and pings, or a Send that found the token free and the
// queue empty (writeInline). gorilla itself answers the peer's pings and
// close frame from the reader through WriteControl, which it documents as
// safe alongside the writer.
type session struct {
	gen      uint64 // the incarnation's
	id       uint64
	ws       *websocket.Conn
	endpoint string
	// ctx is the incarnation's: it ends on a stop, a restart or Close,
	// and bounds writes made on the session by any goroutine.
	ctx context.Context
	// wmu is the write token. ended, under wmu, is set once the session
	// takes no more writes (it failed, or its writer goroutine is leaving).
	wmu   sync.Mutex
	ended bool

	subs []Message
	// reconnect: not the Conn's first session.
	reconnect bool
	// loopDone: the reader stopped reading (the socket may be closed);
	// readerDone: it also finished calling the handler.
	loopDone, readerDone chan struct{}
	// endHook ends the context OnReconnect gets, when the reader stops.
	endHook context.CancelFunc

	mu  sync.Mutex
	err error
}

// fail records the session's cause of death; the first one wins (a close
// we start is not reported as the read error it provokes).
func (s *session) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

func (s *session) cause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// dialRound waits delay, takes the connection's slot, and tries every
// endpoint once, starting with the one that last worked. The first that
// answers becomes the session, run on a goroutine of its own. Each
// failure is reported to the actor, which backs off after the last one.
func (c *Conn) dialRound(ctx context.Context, gen uint64, delay time.Duration, root *actor.RootContext, self *actor.PID) {
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	select {
	case c.slot <- struct{}{}:
	case <-ctx.Done():
		return
	}
	n := len(c.cfg.Endpoints)
	start := int(c.start.Load())
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		idx := (start + i) % n
		ep := c.cfg.Endpoints[idx]
		c.dialAttempts.Add(1)
		wsc, err, refused := c.dialOne(ctx, ep)
		if err != nil {
			c.dialFailures.Add(1)
			last := i == n-1 || refused
			notify(ctx, root, self, &dialFailed{gen: gen, endpoint: ep, err: err, breakerOpen: refused, last: last})
			if last {
				break
			}
			continue
		}
		c.start.Store(int64(idx))
		// The session runs on a fresh goroutine: this one's stack grew
		// deep in the handshake (HTTP, TLS) and an idle connection would
		// keep it for as long as it is open.
		if c.goAsync(func() { c.runSession(ctx, gen, wsc, ep, root, self) }) {
			return
		}
		_ = wsc.Close() // Close has begun
		break
	}
	<-c.slot
}

// dialOne makes one attempt; refused reports a breaker that said no.
func (c *Conn) dialOne(ctx context.Context, ep string) (_ *websocket.Conn, _ error, refused bool) {
	var tok breaker.Token
	if br := c.env.Breaker; br != nil {
		var err error
		if tok, err = br.Allow(); err != nil {
			return nil, &DialError{Endpoint: ep, Err: err}, true
		}
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	wsc, resp, err := c.dialer.DialContext(dctx, ep, c.cfg.Header)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		de := &DialError{Endpoint: ep, Err: err}
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			de.Status = resp.StatusCode
		}
		err = de
	}
	// ctx (not dctx): a dial cut short by our own stop is not the
	// endpoint's fault, and the breaker ignores it.
	tok.Done(ctx, err)
	return wsc, err, false
}

// runSession runs an open connection until it ends, then frees the slot
// and tells the actor. Its goroutine is the session's writer.
func (c *Conn) runSession(ctx context.Context, gen uint64, wsc *websocket.Conn, ep string, root *actor.RootContext, self *actor.PID) {
	s := &session{gen: gen, id: c.sessions.Add(1), ws: wsc, endpoint: ep, ctx: ctx, loopDone: make(chan struct{}), readerDone: make(chan struct{})}
	now := time.Now()
	c.mu.Lock()
	s.subs = append([]Message(nil), c.subs...)
	c.live = s
	connects := c.connects.Add(1)
	s.reconnect = connects > 1
	down := time.Duration(0)
	if !c.downSince.IsZero() {
		down = now.Sub(c.downSince)
	}
	c.endpoint = ep
	c.mu.Unlock()
	c.connected.Store(true)
	c.state.CompareAndSwap(int32(Connecting), int32(Open))
	notify(ctx, root, self, &sessionStarted{gen: gen, endpoint: ep})

	hookCtx, endHook := context.WithCancel(ctx)
	defer endHook()
	s.endHook = endHook
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.read(ctx, s, root, self)
	}()
	var info *ReconnectInfo
	if connects > 1 {
		info = &ReconnectInfo{Endpoint: ep, Down: down, Reconnects: connects - 1}
	}
	c.write(ctx, hookCtx, s, info, root, self)

	c.mu.Lock()
	c.live = nil
	c.downSince = time.Now()
	c.mu.Unlock()
	<-c.slot
	notify(ctx, root, self, &sessionEnded{gen: gen, err: s.cause()})
}

// write is the session's writer goroutine: subscriptions, the reconnect
// hook's messages, a send left over by the last session, then the queue
// and the pings until the session ends. From the moment it has caught up
// with the queue, Sends may write inline too, each holding the write
// token. It returns once the reader has finished too.
func (c *Conn) write(ctx, hookCtx context.Context, s *session, info *ReconnectInfo, root *actor.RootContext, self *actor.PID) {
	wsc := s.ws
	defer func() {
		c.retire(s)
		_ = wsc.Close()
		<-s.readerDone
	}()
	// A write blocked on a peer that stopped reading must not hold a stop
	// or a Close for WriteTimeout: once ctx ends, the pending write gets
	// CloseTimeout more, then fails.
	stop := context.AfterFunc(ctx, func() {
		_ = wsc.NetConn().SetWriteDeadline(time.Now().Add(c.cfg.CloseTimeout))
	})
	defer stop()
	// Until c.inline is set nobody else writes on s: no token needed.
	for _, m := range s.subs {
		if err := c.put(s, int(m.Type), m.Data); err != nil {
			s.fail(err)
			return
		}
	}
	if info != nil && c.cfg.OnReconnect != nil {
		var msgs []Message
		if perr := protect(func() { msgs = c.cfg.OnReconnect(hookCtx, *info) }); perr != nil {
			s.fail(perr)
			notify(ctx, root, self, &handlerPanicked{gen: s.gen, err: perr})
			return
		}
		for _, m := range msgs {
			if err := c.put(s, int(m.Type), m.Data); err != nil {
				s.fail(err)
				return
			}
		}
	}
	if m := c.head; m != nil {
		c.head = nil
		if !c.writeQueued(s, m) {
			return
		}
	}
	if !c.drain(s) {
		return
	}
	// Caught up: from here a Send may write inline. Anything queued from
	// now on comes with a kick.
	if !c.cfg.WriterOnly {
		c.inline.Store(s)
	}
	var tick <-chan time.Time
	if hb := c.cfg.HeartbeatInterval; hb > 0 {
		t := time.NewTicker(hb)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			s.fail(context.Cause(ctx))
			// No data frame may follow our close frame.
			c.retire(s)
			c.closeGracefully(s)
			return
		case <-s.loopDone:
			return
		case <-c.kick:
			if !c.drain(s) {
				return
			}
		case <-tick:
			if err := c.ping(s); err != nil {
				s.fail(err)
				return
			}
		}
	}
}

// put writes one data frame on s; the caller holds the write token (or
// is the writer goroutine before the session goes inline).
func (c *Conn) put(s *session, typ int, data []byte) error {
	if err := s.ctx.Err(); err != nil {
		return context.Cause(s.ctx)
	}
	if err := s.ws.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return err
	}
	// The stop's AfterFunc may have shortened the deadline just before we
	// lengthened it: then ctx has ended, and we shorten it again.
	if s.ctx.Err() != nil {
		_ = s.ws.NetConn().SetWriteDeadline(time.Now().Add(c.cfg.CloseTimeout))
	}
	// Counted before the write so that a peer's reply never overtakes
	// the count (tests and dashboards read it after the echo).
	c.sent.Add(1)
	if err := s.ws.WriteMessage(typ, data); err != nil {
		c.sent.Add(^uint64(0))
		return err
	}
	return nil
}

// drain writes everything queued, holding the write token; false means
// the session failed or is ending.
func (c *Conn) drain(s *session) bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.ended {
		return false
	}
	for {
		m := c.pop()
		if m == nil {
			return true
		}
		if !c.writeQueued(s, m) {
			s.ended = true
			return false
		}
	}
}

// ping writes a heartbeat ping through the write token, so that pings and
// data frames never interleave mid-frame whatever goroutine writes.
func (c *Conn) ping(s *session) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.ended {
		return errSessionEnded
	}
	return s.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.cfg.WriteTimeout))
}

// errSessionEnded: the session failed on another goroutine's write, whose
// error is the session's cause.
var errSessionEnded = errors.New("ws: session ended")

// retire closes s to writes: once it returns no goroutine writes on s
// again (it waits for a write in progress, which the heartbeat, the
// socket's close or CloseTimeout bound).
func (c *Conn) retire(s *session) {
	c.inline.CompareAndSwap(s, nil)
	s.wmu.Lock()
	s.ended = true
	s.wmu.Unlock()
}

// writeInline writes m on the caller's goroutine when the open session's
// writer is idle (its write token is free) and nothing is queued, and
// reports whether it took m. Each sender's order holds: a send of its
// still queued means the queue is not empty, and one being written holds
// the token. A failed write keeps m (copied) for the next session, first,
// as the writer goroutine does with a queued send, and ends this one.
func (c *Conn) writeInline(ctx context.Context, m Message, copyData bool) bool {
	s := c.inline.Load()
	if s == nil {
		return false
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < c.cfg.WriteTimeout {
		return false // the write could outlast ctx: the queue honours it
	}
	if !s.wmu.TryLock() {
		return false // the writer goroutine or another Send is writing
	}
	defer s.wmu.Unlock()
	if s.ended || c.queued() > 0 {
		return false
	}
	if err := c.put(s, int(m.Type), m.Data); err != nil {
		// Nothing of this caller's is queued behind it, and the session
		// takes no more writes: head is free (only a failed write sets it,
		// and that ends the session before any inline write).
		c.head = c.newOut(m, ctxDeadline(ctx), copyData)
		s.ended = true
		s.fail(err)
		c.wake() // the writer goroutine finds the session ended and leaves
	}
	return true
}

// writeQueued writes one queued send unless it is stale; false means the
// session failed (and m waits in head for the next one).
func (c *Conn) writeQueued(s *session, m *outMsg) bool {
	if m.session != 0 && m.session != s.id {
		return true // a subscription the current session already replayed
	}
	if c.cfg.now().After(m.deadline) {
		c.expired.Add(1)
		c.publish(&SendDropped{Conn: c.name, Count: 1, Reason: ErrExpired.Error(), At: time.Now()})
		return true
	}
	if err := c.put(s, m.typ, m.data); err != nil {
		c.head = m
		s.fail(err)
		return false
	}
	return true
}

// closeGracefully writes a close frame and waits, at most CloseTimeout, for
// the peer's, which ends the reader.
func (c *Conn) closeGracefully(s *session) {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := s.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.cfg.CloseTimeout)); err != nil {
		return
	}
	t := time.NewTimer(c.cfg.CloseTimeout)
	defer t.Stop()
	select {
	case <-s.loopDone:
	case <-t.C:
	}
}

// read is the session's reader: it calls the handler for each message, in
// order, and turns a handler panic into a closed session and a failed
// actor.
func (c *Conn) read(ctx context.Context, s *session, root *actor.RootContext, self *actor.PID) {
	defer close(s.readerDone)
	wsc := s.ws
	wsc.SetReadLimit(c.cfg.MaxMessageSize)
	wait := c.cfg.HeartbeatInterval + c.cfg.HeartbeatGrace
	if c.cfg.HeartbeatInterval > 0 {
		_ = wsc.SetReadDeadline(time.Now().Add(wait))
		// Only a pong moves the deadline: a peer that talks but no longer
		// answers pings is as stuck as a silent one.
		wsc.SetPongHandler(func(string) error {
			c.pongs.Add(1)
			return wsc.SetReadDeadline(time.Now().Add(wait))
		})
	}
	h, pid := c.cfg.Handler, c.env.HandlerPID
	var err error
	var perr *PanicError
	if pid != nil {
		root.Send(pid, &Connected{Conn: c.name, Endpoint: s.endpoint, Reconnect: s.reconnect, At: time.Now()})
	}
	if h != nil {
		perr = protect(func() { h.Connected(c, s.endpoint) })
	}
	for perr == nil {
		typ, data, rerr := wsc.ReadMessage()
		if rerr != nil {
			err = c.classify(rerr, wait)
			break
		}
		c.received.Add(1)
		m := Message{Type: MessageType(typ), Data: data}
		if pid != nil {
			root.Send(pid, &Received{Conn: c.name, Message: m})
		}
		if h != nil {
			perr = protect(func() { h.Message(c, m) })
		}
	}
	if perr != nil {
		err = perr
	}
	s.fail(err)
	// Closing the socket here, not only in the writer, unblocks a writer
	// stuck on a peer that stopped reading (the very peer a heartbeat
	// timeout is about); gorilla's Close is safe alongside it.
	_ = wsc.Close()
	s.endHook()
	// Sends from now on queue for the next session: the handler and the
	// application hear of the loss below, and a Send made after that must
	// not try the dead socket (an inline write already under way fails and
	// keeps its message in head).
	c.inline.CompareAndSwap(s, nil)
	c.connected.Store(false)
	c.state.CompareAndSwap(int32(Open), int32(Connecting))
	close(s.loopDone)
	if perr != nil {
		notify(ctx, root, self, &handlerPanicked{gen: s.gen, err: perr})
	}
	err = s.cause()
	if pid != nil {
		root.Send(pid, &Disconnected{Conn: c.name, Endpoint: s.endpoint, Reason: errText(err), Err: err, At: time.Now()})
	}
	if h != nil {
		// A handler that panicked still hears of the disconnect (it may own
		// resources to release); a second panic is only dropped.
		_ = protect(func() { h.Disconnected(c, err) })
	}
}

func (c *Conn) classify(err error, wait time.Duration) error {
	if errors.Is(err, websocket.ErrReadLimit) {
		return &TooLargeError{Limit: c.cfg.MaxMessageSize, Incoming: true}
	}
	var ne net.Error
	if c.cfg.HeartbeatInterval > 0 && errors.As(err, &ne) && ne.Timeout() {
		c.heartbeatLost.Add(1)
		return &heartbeatError{wait: wait}
	}
	return err
}

type heartbeatError struct{ wait time.Duration }

func (e *heartbeatError) Error() string {
	return "ws: heartbeat timeout: no pong for " + e.wait.String()
}

func (e *heartbeatError) Is(target error) bool { return target == ErrHeartbeatTimeout }

func errText(err error) string {
	if err == nil {
		return "closed"
	}
	return err.Error()
}

func protect(f func()) (perr *PanicError) {
	defer func() {
		if v := recover(); v != nil {
			perr = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	f()
	return nil
}

// notify tells the actor of this incarnation, unless it has ended (it
// would ignore the news, and a stopped one would turn it into a dead
// letter).
func notify(ctx context.Context, root *actor.RootContext, self *actor.PID, msg any) {
	if ctx.Err() == nil {
		root.Send(self, msg)
	}
}
