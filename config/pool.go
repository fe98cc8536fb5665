package config

// Pool configures one connection pool (pools.<name>).
type Pool struct {
	// Protocol is http (default), websocket, grpc or redis.
	Protocol string `yaml:"protocol"`
	// Scheme is http or https for HTTP pools. Default http, or https when
	// TLS files are given.
	Scheme string `yaml:"scheme"`
	Host   string `yaml:"host"`
	Port   int    `yaml:"port"`
	// Endpoints lists several host:port instances of the same service. When
	// empty, Host:Port is the only endpoint.
	Endpoints []string `yaml:"endpoints"`
	// LoadBalancing is round_robin (default) or p2c (power of two choices on
	// fewest requests in flight).
	LoadBalancing string `yaml:"load_balancing"`
	// Size is the most resources in use at once. Default 10.
	Size int `yaml:"size"`
	// Timeout is each request's deadline and the checkout wait. Default 5s.
	Timeout Duration `yaml:"timeout"`
	// CircuitBreaker names a breaker in circuit_breakers that guards this pool.
	CircuitBreaker string `yaml:"circuit_breaker"`
	// DialTimeout, TLSHandshakeTimeout, ResponseHeaderTimeout, IdleTimeout
	// tune the transport. Defaults 5s, 5s, Timeout, 90s.
	DialTimeout           Duration `yaml:"dial_timeout"`
	TLSHandshakeTimeout   Duration `yaml:"tls_handshake_timeout"`
	ResponseHeaderTimeout Duration `yaml:"response_header_timeout"`
	IdleTimeout           Duration `yaml:"idle_timeout"`
	// MaxResponseBody is the largest response body read, in bytes. Default
	// 10 MiB.
	MaxResponseBody int64   `yaml:"max_response_body"`
	TLS             TLS     `yaml:"tls"`
	Outlier         Outlier `yaml:"outlier"`
}

// TLS holds certificate files for HTTPS, gRPC and Redis connections.
type TLS struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
}

// Outlier configures passive outlier ejection across a pool's endpoints.
type Outlier struct {
	// ConsecutiveFailures ejects an endpoint. Default 5; 0 keeps the default,
	// a negative value disables ejection.
	ConsecutiveFailures int `yaml:"consecutive_failures"`
	// BaseEjectionTime is multiplied by the number of times the endpoint has
	// been ejected. Default 30s.
	BaseEjectionTime Duration `yaml:"base_ejection_time"`
	// MaxEjectionPercent caps the share of endpoints ejected at once. Default 50.
	MaxEjectionPercent int `yaml:"max_ejection_percent"`
}

// HealthCheck configures one health checker of an external service
// (health_checks.<name>).
type HealthCheck struct {
	// Type is http (default), tcp or grpc.
	Type string `yaml:"type"`
	// Target is a URL for http, host:port for tcp and grpc.
	Target   string   `yaml:"target"`
	Interval Duration `yaml:"interval"` // default 10s
	Timeout  Duration `yaml:"timeout"`  // default 2s
}
