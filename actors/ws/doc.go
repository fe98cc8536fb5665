// Package ws is the WebSocket adapter: supervised connection actors on
// gorilla/websocket, and pools of them. (The package is not called
// websocket so that it never shadows gorilla's.)
//
// # What it owns
//
// A [Conn] is one logical connection to a service: a handle that any
// number of goroutines send through, and the actor ([Conn.Props],
// [Conn.ChildSpec]) that owns its life under a supervisor. The handle
// keeps what must survive an actor restart: the send queue, the declared
// subscriptions and the counters ([Stats]). The actor keeps only its
// incarnation: the dial in progress, the backoff, the open session.
//
// A [Pool] is Size connections with one Config: [Pool.Pick] chooses by
// round robin over the open ones, or sticky by key; every connection fails
// over along the same ordered endpoints. [Pool.Start] runs them under a
// supervisor of the pool's own; a node puts [Pool.ChildSpecs] under S1
// instead.
//
// # Goroutines
//
// The actor never waits on the network. Per connection:
//
//	actor      decides to dial and when (backoff), publishes events,
//	           turns a handler panic into its own (→ supervisor restart)
//	dialler    one round over the endpoints; on success it starts ...
//	writer     the session's writer: subscriptions, the OnReconnect
//	           messages, the queue, and the pings
//	reader     reads, calls the Handler (and sends to Env.HandlerPID), in
//	           order; a pong moves the read deadline
//
// gorilla panics, after corrupting its buffer, on concurrent writes. Every
// frame of ours is written holding the session's write token, so one
// goroutine writes at a time whatever the number of senders: the writer
// goroutine, or a Send that found the token free and nothing queued,
// which writes its message itself rather than hand it over (that hand-off
// was a third of an echo round trip). Pings and queued sends always go
// through the writer goroutine. Control frames gorilla answers by itself
// on the reader (pong, the close echo, 1009 on an oversize frame) go
// through WriteControl, which gorilla documents as safe alongside the
// writer. A slot held from dial to the end of a session keeps one session
// per Conn even while a restarted actor's previous session is still
// closing.
//
// # The life of a connection
//
//	          Started                         dial ok
//	(spawn) ───────────► connecting ─────────────────────► open
//	                      ▲   │ every endpoint failed        │
//	                      │   └─► backoff: full jitter,      │ read error, peer close,
//	                      │       [0, min(max, init·2ⁿ))     │ no pong for interval+grace,
//	                      │       then the next round        │ oversize frame, handler panic
//	                      └──────────────────────────────────┘
//	  Close: close frame, wait ≤ CloseTimeout for the peer's ─► closed
//
// A dial guarded by Env.Breaker is refused while it is open (the attempt
// is an event with BreakerOpen) and the actor backs off. Every attempt is
// a [DialAttempted] event; every open and loss a [Connected] /
// [Disconnected] one.
//
// # Sends
//
// Send, SendText, SendBinary and SendJSON queue a copy and return; the
// writer writes in queue order. On an open connection with an idle writer
// and an empty queue they write the message on the caller's goroutine and
// return once it is written, unless ctx's deadline is sooner than
// WriteTimeout (a write cut short would corrupt the connection, so an
// inline write is bounded by WriteTimeout, not ctx). Each sender's order
// holds across both paths. The queue holds no buffer while empty. While the connection is open a full queue
// is backpressure: Send waits for room until its ctx ends (then
// ErrQueueFull wrapping the ctx error). While it is down the policy
// is explicit: Queue (default) keeps sends, each until its deadline (the
// earlier of ctx's and QueueTimeout), and writes them in order after the
// reconnect, failing with ErrQueueFull when the queue is full; FailFast
// fails them with ErrNotConnected. A send whose write fails is kept and
// written first on the next connection. Rejected, expired and abandoned
// sends are counted in Stats.Dropped (an expiry also publishes
// [SendDropped]); nothing is dropped silently.
//
// Subscriptions (Config.Subscriptions, [Conn.Subscribe]) are written
// after every connect, before the queue; OnReconnect then lets the
// application ask for what it missed.
//
// # Messages the actor accepts
//
//	*Send     → *SendResult    queue one message, never waiting for room
//	*GetStats → *StatsResult
//
// [SendVia] and [StatsVia] wrap them with a context. A handler actor
// (Env.HandlerPID) receives *Connected, *Received and *Disconnected, in
// order.
//
// # Bounds
//
// Every wait is bounded: a dial by DialTimeout, a frame by WriteTimeout, a
// silent peer by HeartbeatInterval + HeartbeatGrace (the reader then
// closes the socket, which frees a writer blocked on a peer that stopped
// reading), and a stop or Close by CloseTimeout for the peer's close frame
// plus, at most, CloseTimeout for a write in progress.
//
// # Events
//
// Kinds ws.dial_attempted, ws.connected, ws.disconnected and
// ws.send_dropped, published on Env.Events; none per message.
//
// # Faults
//
// A panicking Handler (or OnReconnect) closes its connection, raises a
// Warning on Env.Alerts with the connection's name as source, and fails
// the connection's actor, which its supervisor restarts alone; the new
// incarnation redials at once, with the queue and subscriptions intact. An
// incoming message over MaxMessageSize closes that connection (1009) with
// a [TooLargeError] and it redials; nothing else is affected.
//
// A connection actor also answers *pb.WsSend (package actors/pb) with a
// *pb.WsSendResult, for callers on another cluster member: RemoteSendVia.
package ws
