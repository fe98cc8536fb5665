package config

import (
	"maps"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/viable-systems/vsm-connections/algedonic"
)

// Names accepted by the string-valued settings.
const (
	ModeConsecutive = "consecutive" // circuit_breakers.*.mode
	ModeRate        = "rate"

	WindowCount = "count" // circuit_breakers.*.window_type
	WindowTime  = "time"

	CoordinationLocal  = "local" // circuit_breakers.*.coordination
	CoordinationShared = "shared"

	ProtocolHTTP      = "http" // pools.*.protocol
	ProtocolWebSocket = "websocket"
	ProtocolGRPC      = "grpc"
	ProtocolRedis     = "redis"

	BalanceRoundRobin   = "round_robin" // pools.*.load_balancing
	BalanceP2C          = "p2c"
	BalanceLeastRequest = "least_request" // gRPC pools only
	BalancePickFirst    = "pick_first"    // gRPC pools only

	WhileDisconnectedQueue    = "queue" // pools.*.while_disconnected
	WhileDisconnectedFailFast = "fail_fast"

	CheckHTTP      = "http" // health_checks.*.type
	CheckTCP       = "tcp"
	CheckGRPC      = "grpc"
	CheckRedis     = "redis"
	CheckWebSocket = "websocket"
)

// Jitter strategies (fault_tolerance.default_jitter).
const (
	JitterFull         Jitter = "full"
	JitterEqual        Jitter = "equal"
	JitterDecorrelated Jitter = "decorrelated"
	JitterNone         Jitter = "none"
)

// Defaults that other packages may want to quote.
const (
	DefaultCluster         = "vsm"
	DefaultAdminAddr       = "127.0.0.1:7070"
	DefaultMaxResponseBody = 10 << 20
	DefaultMaxMessageSize  = 1 << 20 // pools.*.max_message_size (websocket)
)

// gRPC status code names, as the gRPC spec and service configs write them
// (pools.*.failure_codes, pools.*.retry.codes). The config names codes
// rather than importing grpc-go: only the adapter depends on it.
var grpcCodes = []string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
}

// GRPCCode returns the number of the gRPC status code called name (in any
// case: UNAVAILABLE, unavailable), as codes.Code numbers them.
func GRPCCode(name string) (uint32, bool) {
	i := slices.Index(grpcCodes, strings.ToUpper(strings.TrimSpace(name)))
	return uint32(i), i >= 0
}

// Defaults of gRPC pools' code lists: the breaker counts the codes that
// say the service is down, overloaded, too slow or broken; retries are
// for Unavailable only (the server did not process the call).
var (
	DefaultFailureCodes   = []string{"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "INTERNAL"}
	DefaultRetryableCodes = []string{"UNAVAILABLE"}
)

// Default returns the configuration used when none is given: every default
// filled in, no pools, breakers or health checks, no Redis.
func Default() *Config { return (&Config{}).WithDefaults() }

// WithDefaults returns a deep copy of c with every zero value replaced by its
// documented default. A nil c gives Default(). c is not modified. The copy
// keeps c's source positions, so Validate on it still names lines.
//
// node.name defaults to the host name; if that cannot be read it stays
// empty and Validate reports it.
func (c *Config) WithDefaults() *Config {
	if c == nil {
		c = &Config{}
	}
	out := *c
	out.Cluster = c.Cluster.clone()
	if out.Node.Name == "" {
		if h, err := os.Hostname(); err == nil {
			out.Node.Name = h
		}
	}
	setStr(&out.Node.Cluster, DefaultCluster)
	setStr(&out.Admin.Addr, DefaultAdminAddr)
	out.Admin.Readiness.Breakers = slices.Clone(c.Admin.Readiness.Breakers)
	out.Admin.Readiness.HealthChecks = slices.Clone(c.Admin.Readiness.HealthChecks)
	out.Control = c.Control.withDefaults()
	if out.Algedonic.LogMin == 0 {
		out.Algedonic.LogMin = algedonic.Warning
	}
	if out.Algedonic.PublishMin == 0 {
		out.Algedonic.PublishMin = algedonic.Info
	}
	s := &out.Supervision
	setInt(&s.MaxRestarts, 3)
	setDur(&s.Window, 5*time.Second)
	setDur(&s.BackoffMax, time.Second)

	if c.CircuitBreakers != nil {
		out.CircuitBreakers = make(map[string]Breaker, len(c.CircuitBreakers))
		for name, b := range c.CircuitBreakers {
			out.CircuitBreakers[name] = b.withDefaults()
		}
	}
	if c.HealthChecks != nil {
		out.HealthChecks = make(map[string]HealthCheck, len(c.HealthChecks))
		for name, h := range c.HealthChecks {
			out.HealthChecks[name] = h.withDefaults()
		}
	}

	r := &out.Redis
	r.Addrs = slices.Clone(c.Redis.Addrs)
	// go-redis's own default, written out so the effective value is visible.
	setInt(&r.PoolSize, 10*runtime.GOMAXPROCS(0))
	setDur(&r.Timeout, 5*time.Second)

	f := &out.FaultTolerance
	setInt(&f.DefaultMaxAttempts, 3)
	setDur(&f.DefaultBaseDelay, 100*time.Millisecond)
	setDur(&f.DefaultMaxDelay, 10*time.Second)
	if f.DefaultJitter == "" {
		f.DefaultJitter = JitterFull
	}
	// After fault_tolerance: a gRPC pool's retry defaults come from it.
	if c.Pools != nil {
		out.Pools = make(map[string]Pool, len(c.Pools))
		for name, p := range c.Pools {
			out.Pools[name] = p.withDefaults(*f)
		}
	}
	return &out
}

func (h HealthCheck) withDefaults() HealthCheck {
	setStr(&h.Type, CheckHTTP)
	setDur(&h.Interval, 10*time.Second)
	setDur(&h.UnhealthyInterval, h.Interval.D())
	setDur(&h.Timeout, 2*time.Second)
	if h.JitterPercent == 0 {
		h.JitterPercent = 10
	}
	if h.InitialJitter == 0 && h.JitterPercent > 0 {
		h.InitialJitter = Duration(float64(h.Interval) * h.JitterPercent / 100)
	}
	setInt(&h.HealthyThreshold, 1)
	setInt(&h.UnhealthyThreshold, 3)
	h.ExpectedStatus = slices.Clone(h.ExpectedStatus)
	return h
}

func (b Breaker) withDefaults() Breaker {
	setInt(&b.FailureThreshold, 5)
	setDur(&b.RecoveryTimeout, 30*time.Second)
	setStr(&b.Mode, ModeConsecutive)
	setStr(&b.WindowType, WindowCount)
	setInt(&b.WindowSize, 100)
	setDur(&b.WindowDuration, 60*time.Second)
	if b.FailureRate == 0 {
		b.FailureRate = 50
	}
	setInt(&b.MinimumCalls, 10)
	setInt(&b.HalfOpenMaxCalls, 1)
	setInt(&b.SuccessThreshold, 1)
	setStr(&b.Coordination, CoordinationLocal)
	return b
}

// withDefaults fills in the keys p's protocol uses, and only those: a key
// of another protocol stays unset, so that Validate, which refuses such
// keys, accepts a defaulted config. f gives a gRPC pool's retry defaults.
func (p Pool) withDefaults(f FaultTolerance) Pool {
	p.Endpoints = slices.Clone(p.Endpoints)
	p.Headers = maps.Clone(p.Headers)
	p.FailureCodes = slices.Clone(p.FailureCodes)
	p.Retry.Codes = slices.Clone(p.Retry.Codes)
	setStr(&p.Protocol, ProtocolHTTP)
	if p.Scheme == "" {
		p.Scheme = defaultScheme(p.Protocol, p.TLS.CAFile != "" || p.TLS.CertFile != "")
	}
	setStr(&p.LoadBalancing, BalanceRoundRobin)
	setDur(&p.DialTimeout, 5*time.Second)
	switch p.Protocol {
	case ProtocolWebSocket:
		setInt(&p.Size, 1)
		setStr(&p.Path, "/")
		setDur(&p.HeartbeatInterval, 15*time.Second)
		setDur(&p.HeartbeatGrace, 5*time.Second)
		setDur(&p.BackoffInitial, 200*time.Millisecond)
		setDur(&p.BackoffMax, 20*time.Second)
		setDur(&p.WriteTimeout, 10*time.Second)
		setDur(&p.CloseTimeout, time.Second)
		setStr(&p.WhileDisconnected, WhileDisconnectedQueue)
		setInt(&p.QueueSize, 1024)
		setDur(&p.QueueTimeout, 30*time.Second)
		if p.MaxMessageSize == 0 {
			p.MaxMessageSize = DefaultMaxMessageSize
		}
		return p
	case ProtocolGRPC:
		setDur(&p.Timeout, 5*time.Second)
		setDur(&p.IdleTimeout, time.Minute)
		setInt(&p.MaxConns, 4)
		if len(p.FailureCodes) == 0 {
			p.FailureCodes = slices.Clone(DefaultFailureCodes)
		}
		r := &p.Retry
		setInt(&r.MaxAttempts, f.DefaultMaxAttempts)
		setDur(&r.InitialBackoff, f.DefaultBaseDelay.D())
		setDur(&r.MaxBackoff, f.DefaultMaxDelay.D())
		if len(r.Codes) == 0 {
			r.Codes = slices.Clone(DefaultRetryableCodes)
		}
		return p
	}
	setInt(&p.Size, 10)
	setDur(&p.Timeout, 5*time.Second)
	setDur(&p.TLSHandshakeTimeout, 5*time.Second)
	setDur(&p.ResponseHeaderTimeout, p.Timeout.D())
	setDur(&p.IdleTimeout, 90*time.Second)
	if p.MaxResponseBody == 0 {
		p.MaxResponseBody = DefaultMaxResponseBody
	}
	setInt(&p.Outlier.ConsecutiveFailures, 5)
	setDur(&p.Outlier.BaseEjectionTime, 30*time.Second)
	setInt(&p.Outlier.MaxEjectionPercent, 50)
	return p
}

// defaultScheme is the plain or TLS scheme of a protocol; "" for an unknown
// protocol, which Validate reports.
func defaultScheme(protocol string, tls bool) string {
	s, ok := schemes[protocol]
	if !ok {
		return ""
	}
	if tls {
		return s[1]
	}
	return s[0]
}

// protocols are the pool protocols the config knows, in the order errors
// list them.
var protocols = []string{ProtocolHTTP, ProtocolWebSocket, ProtocolGRPC, ProtocolRedis}

// poolAdapters lists the pool protocols that have an adapter, so that a pool
// of another protocol is refused by Validate (and so by vsm.Start and
// vsmnode config check) instead of being skipped at start. A protocol joins
// this list in the change that adds its adapter.
var poolAdapters = []string{ProtocolHTTP, ProtocolWebSocket, ProtocolGRPC}

// schemes lists each protocol's plain and TLS scheme.
var schemes = map[string][2]string{
	ProtocolHTTP:      {"http", "https"},
	ProtocolWebSocket: {"ws", "wss"},
	ProtocolGRPC:      {"grpc", "grpcs"},
	ProtocolRedis:     {"redis", "rediss"},
}

// Equal reports whether c and o hold the same settings, ignoring where they
// were parsed from. A nil and an empty map or list are not the same.
func (c *Config) Equal(o *Config) bool {
	if c == nil || o == nil {
		return c == o
	}
	a, b := *c, *o
	a.src, b.src = nil, nil
	return reflect.DeepEqual(a, b)
}

func setStr(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDur(p *Duration, v time.Duration) {
	if *p == 0 {
		*p = Duration(v)
	}
}
