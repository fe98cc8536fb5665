package ws

import (
	"time"

	"github.com/viable-systems/vsm-connections/event"
)

// Handler receives a connection's life and its incoming messages. Calls
// for one Conn never overlap and come in order: Connected, any number of
// Message, Disconnected; then again after a reconnect. They run on the
// connection's reader goroutine, so a slow handler slows only its own
// connection (and, through TCP, its peer).
type Handler interface {
	Connected(c *Conn, endpoint string)
	Message(c *Conn, m Message)
	Disconnected(c *Conn, err error)
}

// HandlerFuncs is a Handler made of optional functions.
type HandlerFuncs struct {
	OnConnected    func(c *Conn, endpoint string)
	OnMessage      func(c *Conn, m Message)
	OnDisconnected func(c *Conn, err error)
}

var _ Handler = HandlerFuncs{}

func (h HandlerFuncs) Connected(c *Conn, endpoint string) {
	if h.OnConnected != nil {
		h.OnConnected(c, endpoint)
	}
}

func (h HandlerFuncs) Message(c *Conn, m Message) {
	if h.OnMessage != nil {
		h.OnMessage(c, m)
	}
}

func (h HandlerFuncs) Disconnected(c *Conn, err error) {
	if h.OnDisconnected != nil {
		h.OnDisconnected(c, err)
	}
}

// --- Commands a user actor sends to a connection actor.

// Send asks the connection actor to queue one message. Reply: *SendResult
// once it is queued (not yet written). The actor never waits for room: a
// full queue answers ErrQueueFull at once. A zero Deadline means the
// Config's QueueTimeout.
type Send struct {
	Message  Message
	Deadline time.Time
}

// SendResult answers Send. Err matches ErrQueueFull, ErrNotConnected,
// ErrMessageTooLarge, ErrExpired or ErrClosed.
type SendResult struct{ Err error }

// GetStats asks for the connection's counters. Reply: *StatsResult.
type GetStats struct{}

// StatsResult answers GetStats.
type StatsResult struct{ Stats Stats }

// --- What a handler actor (Env.HandlerPID) receives, and events.

// Connected: a connection opened (and its subscriptions were queued for
// replay). Sent to Env.HandlerPID and published as an event.
type Connected struct {
	Conn      string    `json:"conn"`
	Endpoint  string    `json:"endpoint"`
	Reconnect bool      `json:"reconnect"`
	At        time.Time `json:"at"`
}

// Received: a data message arrived. Sent to Env.HandlerPID only (never
// published: one per message would tax every publisher). Data is shared
// with Config.Handler, if any: read it, do not modify it.
type Received struct {
	Conn    string
	Message Message
}

// Disconnected: an open connection was lost or closed. Err is the cause
// (matching ErrClosed after Close or once the actor was stopped,
// ErrHeartbeatTimeout, ErrMessageTooLarge, ErrHandlerPanic, or the read
// error); Reason is its text. Sent to Env.HandlerPID and
// published as an event.
type Disconnected struct {
	Conn     string        `json:"conn"`
	Endpoint string        `json:"endpoint"`
	Reason   string        `json:"reason"`
	Err      error         `json:"-"`
	Uptime   time.Duration `json:"uptime"`
	At       time.Time     `json:"at"`
}

// DialAttempted: one dial attempt finished (published as an event). Err is
// empty on success; Delay is the wait before the next attempt after a
// failure. BreakerOpen marks an attempt refused by the dial breaker
// without dialling.
type DialAttempted struct {
	Conn        string        `json:"conn"`
	Endpoint    string        `json:"endpoint"`
	Attempt     int           `json:"attempt"` // from 1 since the last connect
	Err         string        `json:"err,omitempty"`
	BreakerOpen bool          `json:"breaker_open,omitempty"`
	Delay       time.Duration `json:"delay,omitempty"`
	At          time.Time     `json:"at"`
}

// SendDropped: queued sends were dropped (expired, or failed while
// disconnected). Published at most once per writer pass, not per message.
type SendDropped struct {
	Conn   string    `json:"conn"`
	Count  int       `json:"count"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Event kinds of this package (see package event's catalogue).
const (
	KindConnected     = "ws.connected"
	KindDisconnected  = "ws.disconnected"
	KindDialAttempted = "ws.dial_attempted"
	KindSendDropped   = "ws.send_dropped"
)

func (*Connected) Kind() string     { return KindConnected }
func (*Disconnected) Kind() string  { return KindDisconnected }
func (*DialAttempted) Kind() string { return KindDialAttempted }
func (*SendDropped) Kind() string   { return KindSendDropped }

var (
	_ event.Event = (*Connected)(nil)
	_ event.Event = (*Disconnected)(nil)
	_ event.Event = (*DialAttempted)(nil)
	_ event.Event = (*SendDropped)(nil)
)

// --- Private notifications from the connection's goroutines to its actor.

// dialFailed reports one failed attempt; last marks the end of a round
// (every endpoint tried), after which the actor backs off.
type dialFailed struct {
	gen         uint64
	endpoint    string
	err         error
	breakerOpen bool
	last        bool
}

type sessionStarted struct {
	gen      uint64
	endpoint string
}

type sessionEnded struct {
	gen uint64
	err error
}

type handlerPanicked struct {
	gen uint64
	err *PanicError
}
