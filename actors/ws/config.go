package ws

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults applied to zero Config fields.
const (
	DefaultHeartbeatInterval = 15 * time.Second
	DefaultHeartbeatGrace    = 5 * time.Second
	DefaultBackoffInitial    = 200 * time.Millisecond
	DefaultBackoffMax        = 20 * time.Second
	DefaultDialTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultCloseTimeout      = time.Second
	DefaultQueueSize         = 1024
	DefaultQueueTimeout      = 30 * time.Second
	DefaultMaxMessageSize    = 1 << 20
)

// DisconnectedPolicy says what Send does while the connection is down.
type DisconnectedPolicy uint8

const (
	// Queue (the default) keeps sends in the bounded queue, each until its
	// deadline, and writes them in order after the next connect. A full
	// queue fails the send with ErrQueueFull.
	Queue DisconnectedPolicy = iota
	// FailFast fails every send made while disconnected with
	// ErrNotConnected.
	FailFast
)

func (p DisconnectedPolicy) String() string {
	switch p {
	case Queue:
		return "queue"
	case FailFast:
		return "fail_fast"
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// ParsePolicy accepts "queue" or "fail_fast" (case-insensitive, '-'
// accepted for '_'); "" means Queue.
func ParsePolicy(name string) (DisconnectedPolicy, error) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "-", "_") {
	case "", "queue":
		return Queue, nil
	case "fail_fast":
		return FailFast, nil
	}
	return 0, fmt.Errorf("%w: disconnected policy %q (want queue or fail_fast)", ErrConfig, name)
}

// MarshalText writes the policy's name.
func (p DisconnectedPolicy) MarshalText() ([]byte, error) {
	if p > FailFast {
		return nil, fmt.Errorf("%w: disconnected policy %d", ErrConfig, uint8(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText reads a policy's name (YAML, JSON).
func (p *DisconnectedPolicy) UnmarshalText(b []byte) error {
	v, err := ParsePolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// TLS names the files of a wss:// client configuration.
type TLS struct {
	// CAFile is a PEM bundle of the roots that verify the server; empty
	// uses the system roots.
	CAFile string
	// CertFile and KeyFile are the client certificate and its key (PEM),
	// given together, for servers that ask for one.
	CertFile string
	KeyFile  string
	// ServerName overrides the name checked in the server's certificate.
	ServerName string
}

// Config configures one connection (or, in PoolConfig, each connection of
// a pool). The zero value of every field means its default; only
// Endpoints is required.
type Config struct {
	// Endpoints are ws:// or wss:// URLs of one service, in failover order:
	// a dial starts at the endpoint that last worked (the first one at
	// first) and moves to the next one at once when it fails; the backoff
	// delay applies once every endpoint has failed in a row.
	Endpoints []string
	// Header is sent with the opening handshake (auth tokens, origin...).
	Header http.Header
	// TLS configures wss:// (CA file, client certificate). Ignored for
	// ws://.
	TLS TLS
	// TLSConfig, when set, is the base of the TLS configuration (cloned;
	// the TLS files are added to it). nil starts from TLS 1.2 minimum.
	TLSConfig *tls.Config

	// HeartbeatInterval is how often a ping is written. Default 15s;
	// negative disables the heartbeat (no pings, no read deadline).
	HeartbeatInterval time.Duration
	// HeartbeatGrace is how long a pong may take. A connection that has not
	// seen a pong for HeartbeatInterval + HeartbeatGrace is closed with
	// ErrHeartbeatTimeout and redialled. Default 5s.
	HeartbeatGrace time.Duration

	// Backoff between reconnect attempts: attempt n (from 0) waits a delay
	// drawn uniformly from [0, min(Max, Initial*2^n)) ("full jitter").
	// Defaults 200ms and 20s.
	BackoffInitial time.Duration
	BackoffMax     time.Duration

	// DialTimeout bounds one dial, handshake included. Default 10s.
	DialTimeout time.Duration
	// WriteTimeout bounds each frame written. Default 10s.
	WriteTimeout time.Duration
	// WriterOnly makes the writer goroutine write every frame: a Send
	// always hands its message over, and never writes on the caller's
	// goroutine while the writer is idle (see Send). Writes are serialised
	// either way; this costs a goroutine hand-off per send.
	WriterOnly bool
	// CloseTimeout bounds the wait for the peer's close frame after ours.
	// Default 1s.
	CloseTimeout time.Duration

	// WhileDisconnected is Queue (default) or FailFast.
	WhileDisconnected DisconnectedPolicy
	// QueueSize bounds the sends waiting to be written, connected or not.
	// Default 1024.
	QueueSize int
	// QueueTimeout is the longest a send may wait in the queue; a send
	// whose context has an earlier deadline uses that one. An expired send
	// is dropped, counted in Stats.Expired. Default 30s.
	QueueTimeout time.Duration

	// MaxMessageSize bounds messages read and written, in bytes. A larger
	// incoming message closes the connection with ErrMessageTooLarge (and
	// a 1009 close frame); a larger send fails at once. Default 1 MiB.
	MaxMessageSize int64

	// Subscriptions are written, in order, after every connect and before
	// anything queued; Conn.Subscribe adds more at run time.
	Subscriptions []Message

	// Handler receives connection events and incoming messages, one at a
	// time, in order, on the connection's reader goroutine. A panic in it
	// closes the connection, restarts the connection's actor and raises a
	// Warning alert. nil: only HandlerPID (if set) sees them.
	Handler Handler
	// OnReconnect, when set, is called on the writer goroutine after every
	// connect but the first, once the subscriptions are written and before
	// the queued sends: the messages it returns are written first. It is
	// where an application asks the server for what it missed (e.g.
	// "replay since sequence N"). ctx ends when the connection does.
	OnReconnect func(ctx context.Context, info ReconnectInfo) []Message

	// now is the time source of queue deadlines; tests inject a fake.
	now func() time.Time
}

// ReconnectInfo tells OnReconnect about the connection that just opened.
type ReconnectInfo struct {
	Endpoint string
	// Down is how long the connection was down.
	Down time.Duration
	// Reconnects counts the connects after the first, this one included.
	Reconnects uint64
}

// MessageType is the kind of a WebSocket data message.
type MessageType int

const (
	// Text is a UTF-8 text message (websocket.TextMessage).
	Text MessageType = 1
	// Binary is a binary message (websocket.BinaryMessage).
	Binary MessageType = 2
)

func (t MessageType) String() string {
	switch t {
	case Text:
		return "text"
	case Binary:
		return "binary"
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// Message is one WebSocket data message.
type Message struct {
	Type MessageType
	Data []byte
}

// TextMessage is a Text Message holding s.
func TextMessage(s string) Message { return Message{Type: Text, Data: []byte(s)} }

// JSONMessage is a Text Message holding v encoded as JSON.
func JSONMessage(v any) (Message, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Message{}, fmt.Errorf("ws: encode JSON: %w", err)
	}
	return Message{Type: Text, Data: b}, nil
}

func (c Config) normalized() Config {
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.HeartbeatGrace <= 0 {
		c.HeartbeatGrace = DefaultHeartbeatGrace
	}
	if c.BackoffInitial <= 0 {
		c.BackoffInitial = DefaultBackoffInitial
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	c.BackoffMax = max(c.BackoffMax, c.BackoffInitial)
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.QueueTimeout <= 0 {
		c.QueueTimeout = DefaultQueueTimeout
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// validate checks the endpoints and builds the TLS configuration.
func (c Config) validate() (*tls.Config, error) {
	if len(c.Endpoints) == 0 {
		return nil, fmt.Errorf("%w: no endpoints", ErrConfig)
	}
	secure := false
	for _, e := range c.Endpoints {
		u, err := url.Parse(e)
		if err != nil {
			return nil, fmt.Errorf("%w: endpoint %q: %v", ErrConfig, e, err)
		}
		switch u.Scheme {
		case "ws":
		case "wss":
			secure = true
		default:
			return nil, fmt.Errorf("%w: endpoint %q: scheme must be ws or wss", ErrConfig, e)
		}
		if u.Host == "" {
			return nil, fmt.Errorf("%w: endpoint %q: no host", ErrConfig, e)
		}
	}
	if c.WhileDisconnected > FailFast {
		return nil, fmt.Errorf("%w: unknown disconnected policy %d", ErrConfig, c.WhileDisconnected)
	}
	if !secure {
		return nil, nil
	}
	return loadTLS(c.TLSConfig, c.TLS)
}

func loadTLS(base *tls.Config, t TLS) (*tls.Config, error) {
	var c *tls.Config
	if base != nil {
		c = base.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if t.ServerName != "" {
		c.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: tls ca file: %w", ErrConfig, err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: tls ca file %s: no PEM certificate found", ErrConfig, t.CAFile)
		}
		c.RootCAs = roots
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("%w: tls cert file and key file must be given together", ErrConfig)
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: tls client certificate: %w", ErrConfig, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
