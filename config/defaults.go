package config

import (
	"os"
	"reflect"
	"runtime"
	"slices"
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

	BalanceRoundRobin = "round_robin" // pools.*.load_balancing
	BalanceP2C        = "p2c"

	CheckHTTP = "http" // health_checks.*.type
	CheckTCP  = "tcp"
	CheckGRPC = "grpc"
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

	if c.Pools != nil {
		out.Pools = make(map[string]Pool, len(c.Pools))
		for name, p := range c.Pools {
			out.Pools[name] = p.withDefaults()
		}
	}
	if c.CircuitBreakers != nil {
		out.CircuitBreakers = make(map[string]Breaker, len(c.CircuitBreakers))
		for name, b := range c.CircuitBreakers {
			out.CircuitBreakers[name] = b.withDefaults()
		}
	}
	if c.HealthChecks != nil {
		out.HealthChecks = make(map[string]HealthCheck, len(c.HealthChecks))
		for name, h := range c.HealthChecks {
			setStr(&h.Type, CheckHTTP)
			setDur(&h.Interval, 10*time.Second)
			setDur(&h.Timeout, 2*time.Second)
			out.HealthChecks[name] = h
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
	return &out
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

func (p Pool) withDefaults() Pool {
	p.Endpoints = slices.Clone(p.Endpoints)
	setStr(&p.Protocol, ProtocolHTTP)
	if p.Scheme == "" {
		p.Scheme = defaultScheme(p.Protocol, p.TLS.CAFile != "" || p.TLS.CertFile != "")
	}
	setStr(&p.LoadBalancing, BalanceRoundRobin)
	setInt(&p.Size, 10)
	setDur(&p.Timeout, 5*time.Second)
	setDur(&p.DialTimeout, 5*time.Second)
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
var poolAdapters = []string{ProtocolHTTP}

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
