package config

// Pool configures one connection pool (pools.<name>).
type Pool struct {
	// Protocol is http (default). websocket, grpc and redis are known names
	// without an adapter yet: Validate refuses a pool that uses them.
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
	// fewest requests in flight).
	LoadBalancing string `yaml:"load_balancing,omitempty"`
	// Size is the most resources in use at once. Default 10.
	Size int `yaml:"size,omitempty"`
	// Timeout is each request's deadline and the checkout wait. Default 5s.
	Timeout Duration `yaml:"timeout,omitempty"`
	// CircuitBreaker names a breaker in circuit_breakers that guards this pool.
	CircuitBreaker string `yaml:"circuit_breaker,omitempty"`
	// DialTimeout, TLSHandshakeTimeout, ResponseHeaderTimeout, IdleTimeout
	// tune the transport. Defaults 5s, 5s, Timeout, 90s.
	DialTimeout           Duration `yaml:"dial_timeout,omitempty"`
	TLSHandshakeTimeout   Duration `yaml:"tls_handshake_timeout,omitempty"`
	ResponseHeaderTimeout Duration `yaml:"response_header_timeout,omitempty"`
	IdleTimeout           Duration `yaml:"idle_timeout,omitempty"`
	// MaxResponseBody is the largest response body read, in bytes. Default
	// 10 MiB.
	MaxResponseBody int64   `yaml:"max_response_body,omitempty"`
	TLS             TLS     `yaml:"tls,omitempty"`
	Outlier         Outlier `yaml:"outlier,omitempty"`
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
