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

// session is one open WebSocket: a reader goroutine and a writer (the
// goroutine that dialled it). The writer is the only goroutine that writes
// frames of ours, pings included; gorilla itself answers the peer's pings
// and close frame from the reader through WriteControl, which it documents
// as safe alongside the writer.
type session struct {
	gen      uint64 // the incarnation's
	id       uint64
	ws       *websocket.Conn
	endpoint string
	subs     []Message
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
// answers becomes the session, run on this goroutine as its writer. Each
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
		c.runSession(ctx, gen, wsc, ep, root, self)
		return
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
// and tells the actor. It runs on the dialling goroutine, which becomes
// the writer.
func (c *Conn) runSession(ctx context.Context, gen uint64, wsc *websocket.Conn, ep string, root *actor.RootContext, self *actor.PID) {
	s := &session{gen: gen, id: c.sessions.Add(1), ws: wsc, endpoint: ep, loopDone: make(chan struct{}), readerDone: make(chan struct{})}
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

// write is the session's single writer: subscriptions, the reconnect
// hook's messages, a send left over by the last session, then the queue
// and the pings until the session ends. It returns once the reader has
// finished too.
func (c *Conn) write(ctx, hookCtx context.Context, s *session, info *ReconnectInfo, root *actor.RootContext, self *actor.PID) {
	wsc := s.ws
	defer func() {
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
	put := func(typ int, data []byte) error {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := wsc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
			return err
		}
		// Counted before the write so that a peer's reply never overtakes
		// the count (tests and dashboards read it after the echo).
		c.sent.Add(1)
		if err := wsc.WriteMessage(typ, data); err != nil {
			c.sent.Add(^uint64(0))
			return err
		}
		return nil
	}
	for _, m := range s.subs {
		if err := put(int(m.Type), m.Data); err != nil {
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
			if err := put(int(m.Type), m.Data); err != nil {
				s.fail(err)
				return
			}
		}
	}
	if m := c.head; m != nil {
		c.head = nil
		if !c.writeQueued(s, m, put) {
			return
		}
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
			c.closeGracefully(s)
			return
		case <-s.loopDone:
			return
		case m := <-c.out:
			if !c.writeQueued(s, m, put) {
				return
			}
		case <-tick:
			if err := wsc.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.cfg.WriteTimeout)); err != nil {
				s.fail(err)
				return
			}
		}
	}
}

// writeQueued writes one queued send unless it is stale; false means the
// session failed (and m waits in head for the next one).
func (c *Conn) writeQueued(s *session, m *outMsg, put func(int, []byte) error) bool {
	if m.session != 0 && m.session != s.id {
		return true // a subscription the current session already replayed
	}
	if c.cfg.now().After(m.deadline) {
		c.expired.Add(1)
		c.publish(&SendDropped{Conn: c.name, Count: 1, Reason: ErrExpired.Error(), At: time.Now()})
		return true
	}
	if err := put(m.typ, m.data); err != nil {
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
