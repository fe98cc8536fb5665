package config

// Pool configures one connection pool (pools.<name>).
type Pool struct {
	// Protocol is http (default), websocket or grpc. redis is a known name
	// without a pool adapter (the node's Redis is configured under redis:):
	// Validate refuses a pool that uses it. Keys that only one protocol
	// uses are refused on the others' pools, so that none is silently
	// ignored.
	Protocol string `yaml:"protocol,omitempty"`
	// Scheme is http or https for HTTP pools. Default http, or https when
	// TLS files are given.
	Scheme string `yaml:"scheme,omitempty"`
	Host   string `yaml:"host,omitempty"`
	Port   int    `yaml:"port,omitempty"`
	// Endpoints lists several host:port instances of the same service. When
	// empty, Host:Port is the only endpoint.
	Endpoints []string `yaml:"endpoints,omitempty"`
	// LoadBalancing is round_robin (default) or p2c (power of two choices on
	// fewest requests in flight) for HTTP pools; round_robin (default),
	// least_request (p2c is read as least_request) or pick_first for gRPC
	// pools, which use grpc-go's own balancers; round_robin only for
	// WebSocket pools (a send with a key sticks to one connection).
	LoadBalancing string `yaml:"load_balancing,omitempty"`
	// Size is the most requests in flight at once for HTTP pools (default
	// 10) and the number of connections of a WebSocket pool (default 1).
	// gRPC pools bound ClientConns with max_conns instead.
	Size int `yaml:"size,omitempty"`
	// Timeout is each request's deadline and the checkout wait. Default 5s.
	Timeout Duration `yaml:"timeout,omitempty"`
	// CircuitBreaker names a breaker in circuit_breakers that guards this
	// pool: every HTTP request, every WebSocket dial, every gRPC attempt
	// and stream.
	CircuitBreaker string `yaml:"circuit_breaker,omitempty"`
	// DialTimeout, TLSHandshakeTimeout, ResponseHeaderTimeout, IdleTimeout
	// tune the HTTP transport. Defaults 5s, 5s, Timeout, 90s. DialTimeout
	// also bounds a WebSocket dial (handshake included) and a gRPC
	// connection attempt; IdleTimeout closes an extra gRPC ClientConn
	// idle that long (default 1m). Timeout is a gRPC unary call's deadline
	// when its context has none, retries included; WebSocket pools do not
	// use it.
	DialTimeout           Duration `yaml:"dial_timeout,omitempty"`
	TLSHandshakeTimeout   Duration `yaml:"tls_handshake_timeout,omitempty"`
	ResponseHeaderTimeout Duration `yaml:"response_header_timeout,omitempty"`
	IdleTimeout           Duration `yaml:"idle_timeout,omitempty"`
	// MaxResponseBody is the largest response body read, in bytes. Default
	// 10 MiB.
	MaxResponseBody int64   `yaml:"max_response_body,omitempty"`
	TLS             TLS     `yaml:"tls,omitempty"`
	Outlier         Outlier `yaml:"outlier,omitempty"`
	// RequestEvents publishes a pool.checkout and an adapter.request event
	// for every attempt of an HTTP pool's requests, and an adapter.request
	// for every call of a gRPC pool. Default off: the same
	// counts are in the pool's stats and metrics, and per-request events
	// cost every request of a node with a dashboard open.
	RequestEvents bool `yaml:"request_events,omitempty"`

	// The keys of protocol websocket pools. Zero values mean the defaults
	// given, which WithDefaults fills in for WebSocket pools only; on
	// another protocol's pool Validate refuses them.

	// Path is the request path (and query) dialled on every endpoint:
	// ws://<endpoint><path>. Default "/".
	Path string `yaml:"path,omitempty"`
	// Headers are sent with the opening handshake (auth tokens, origin).
	Headers map[string]string `yaml:"headers,omitempty"`
	// HeartbeatInterval is how often a ping is written; a connection that
	// sees no pong for HeartbeatInterval + HeartbeatGrace is closed and
	// redialled. Defaults 15s and 5s. (A pool configured in code can
	// disable the heartbeat; from YAML it is always on, since a dead peer
	// would otherwise go unnoticed.)
	HeartbeatInterval Duration `yaml:"heartbeat_interval,omitempty"`
	HeartbeatGrace    Duration `yaml:"heartbeat_grace,omitempty"`
	// BackoffInitial and BackoffMax bound the reconnect backoff
	// (exponential, full jitter). Defaults 200ms and 20s.
	BackoffInitial Duration `yaml:"backoff_initial,omitempty"`
	BackoffMax     Duration `yaml:"backoff_max,omitempty"`
	// WriteTimeout bounds each frame written (default 10s); CloseTimeout
	// the wait for the peer's close frame (default 1s).
	WriteTimeout Duration `yaml:"write_timeout,omitempty"`
	CloseTimeout Duration `yaml:"close_timeout,omitempty"`
	// WriterOnly has the connection's writer goroutine write every frame,
	// instead of an idle connection's Send writing on the caller's
	// goroutine under the write token. Default false.
	WriterOnly bool `yaml:"writer_only,omitempty"`
	// WhileDisconnected is queue (default: sends wait in the bounded
	// queue, each until its deadline, and go out in order after the
	// reconnect) or fail_fast (sends fail at once).
	WhileDisconnected string `yaml:"while_disconnected,omitempty"`
	// QueueSize bounds the sends waiting to be written (default 1024);
	// QueueTimeout is the longest one waits (default 30s).
	QueueSize    int      `yaml:"queue_size,omitempty"`
	QueueTimeout Duration `yaml:"queue_timeout,omitempty"`
	// MaxMessageSize bounds messages read and written, in bytes. Default
	// 1 MiB.
	MaxMessageSize int64 `yaml:"max_message_size,omitempty"`

	// The keys of protocol grpc pools. Zero values mean the defaults
	// given, which WithDefaults fills in for gRPC pools only; on another
	// protocol's pool Validate refuses them.

	// MaxConns is the most ClientConns the pool opens: one at start,
	// another when the streams in flight near the server's advertised
	// limit. Default 4; 1 disables scaling.
	MaxConns int `yaml:"max_conns,omitempty"`
	// MaxConcurrentStreams caps the per-connection stream limit the server
	// advertises, or stands in for it when none is advertised. Default 0:
	// the server's word.
	MaxConcurrentStreams int `yaml:"max_concurrent_streams,omitempty"`
	// Retry is the retry policy of unary calls (gRFC A6).
	Retry GRPCRetry `yaml:"retry,omitempty"`
	// FailureCodes are the status codes that count against the pool's
	// circuit breaker, by their gRPC names (UNAVAILABLE, or unavailable).
	// Default UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL.
	FailureCodes []string `yaml:"failure_codes,omitempty"`
}

// GRPCRetry is a gRPC pool's retry policy: at most MaxAttempts attempts,
// a retry only for Codes, after a jittered exponential backoff between
// InitialBackoff and MaxBackoff, never past the call's deadline, and
// throttled by a token bucket shared by the pool's calls.
type GRPCRetry struct {
	// MaxAttempts counts the first attempt; 1 disables retries. Default
	// fault_tolerance.default_max_attempts.
	MaxAttempts int `yaml:"max_attempts,omitempty"`
	// InitialBackoff and MaxBackoff default to fault_tolerance's
	// default_base_delay and default_max_delay.
	InitialBackoff Duration `yaml:"initial_backoff,omitempty"`
	MaxBackoff     Duration `yaml:"max_backoff,omitempty"`
	// Codes are the retryable status codes. Default UNAVAILABLE.
	Codes []string `yaml:"codes,omitempty"`
}

// TLS holds certificate files for HTTPS, gRPC and Redis connections.
type TLS struct {
	CAFile     string `yaml:"ca_file,omitempty"`
	CertFile   string `yaml:"cert_file,omitempty"`
	KeyFile    string `yaml:"key_file,omitempty"`
	ServerName string `yaml:"server_name,omitempty"`
}

// Outlier configures passive outlier ejection across a pool's endpoints.
type Outlier struct {
	// ConsecutiveFailures ejects an endpoint. Default 5; 0 keeps the default,
	// a negative value disables ejection.
	ConsecutiveFailures int `yaml:"consecutive_failures,omitempty"`
	// BaseEjectionTime is multiplied by the number of times the endpoint has
	// been ejected. Default 30s.
	BaseEjectionTime Duration `yaml:"base_ejection_time,omitempty"`
	// MaxEjectionPercent caps the share of endpoints ejected at once. Default 50.
	MaxEjectionPercent int `yaml:"max_ejection_percent,omitempty"`
}

// HealthCheck configures one health checker of an external service
// (health_checks.<name>). Zero values mean the defaults given.
type HealthCheck struct {
	// Type is http (default), tcp, grpc, redis or websocket. Custom checks
	// (Go functions) are registered at run time, not configured.
	Type string `yaml:"type,omitempty"`
	// URL is the target of http (http:// or https://) and websocket (ws://
	// or wss://) checks.
	URL string `yaml:"url,omitempty"`
	// Address is the host:port of tcp and grpc checks.
	Address string `yaml:"address,omitempty"`
	// Target is an alias of URL or Address (whichever the type uses); set
	// one of them, not both. A redis check pings the node's own Redis and
	// takes no target.
	Target string `yaml:"target,omitempty"`
	// Service is the grpc.health.v1 service name of a grpc check; "" asks
	// about the server as a whole.
	Service string `yaml:"service,omitempty"`

	Interval Duration `yaml:"interval,omitempty"` // default 10s
	// UnhealthyInterval replaces Interval while the check is unhealthy.
	// Default Interval.
	UnhealthyInterval Duration `yaml:"unhealthy_interval,omitempty"`
	Timeout           Duration `yaml:"timeout,omitempty"` // default 2s
	// JitterPercent spreads each interval by up to ± this percentage, so
	// checks across nodes do not align. Default 10; negative disables.
	JitterPercent float64 `yaml:"jitter_percent,omitempty"`
	// InitialJitter delays the first probe by a random duration below it.
	// Default Interval × JitterPercent / 100.
	InitialJitter Duration `yaml:"initial_jitter,omitempty"`

	// HealthyThreshold successes in a row make the check healthy (default
	// 1); UnhealthyThreshold failures in a row make it unhealthy (default
	// 3). The check is unknown until one is reached.
	HealthyThreshold   int `yaml:"healthy_threshold,omitempty"`
	UnhealthyThreshold int `yaml:"unhealthy_threshold,omitempty"`

	// ExpectedStatus lists the HTTP status codes that count as healthy.
	// Default: any 2xx.
	ExpectedStatus []int `yaml:"expected_status,omitempty"`
	// BodyContains and BodyRegexp, when set, must both match the start of
	// an http check's body (its first 64 KiB).
	BodyContains string `yaml:"body_contains,omitempty"`
	BodyRegexp   string `yaml:"body_regexp,omitempty"`

	// Critical raises an algedonic Critical alert when the check turns
	// unhealthy, and an Info one when it recovers.
	Critical bool `yaml:"critical,omitempty"`
	// Readiness makes the node ready (GET /readyz) only while the check is
	// healthy, as if listed in admin.readiness.health_checks.
	Readiness bool `yaml:"readiness,omitempty"`
}

// Endpoint is the check's target: URL or Address, else Target.
func (h HealthCheck) Endpoint() string {
	switch {
	case h.URL != "":
		return h.URL
	case h.Address != "":
		return h.Address
	}
	return h.Target
}
