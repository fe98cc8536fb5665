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
// (health_checks.<name>).
type HealthCheck struct {
	// Type is http (default), tcp or grpc.
	Type string `yaml:"type,omitempty"`
	// Target is a URL for http, host:port for tcp and grpc.
	Target   string   `yaml:"target,omitempty"`
	Interval Duration `yaml:"interval,omitempty"` // default 10s
	Timeout  Duration `yaml:"timeout,omitempty"`  // default 2s
}
