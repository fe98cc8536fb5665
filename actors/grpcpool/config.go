package grpcpool

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/eventstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
)

// Defaults of zero Config fields.
const (
	DefaultMaxConns          = 4
	DefaultScaleUpRatio      = 0.8
	DefaultIdleTimeout       = time.Minute
	DefaultTimeout           = 5 * time.Second
	DefaultConnectTimeout    = 5 * time.Second
	DefaultReconnectBase     = 200 * time.Millisecond
	DefaultReconnectMax      = 20 * time.Second
	DefaultMaxAttempts       = 3
	DefaultInitialBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff        = 5 * time.Second
	DefaultBackoffMultiplier = 2.0
	DefaultRetryMaxTokens    = 10.0
	DefaultRetryTokenRatio   = 0.1
)

// Balancing policies of grpc-go that Config.Balancing may name. They are
// grpc-go's own balancers, chosen through the service config; this
// package adds no picker of its own below a ClientConn.
const (
	PickFirst    = "pick_first"
	RoundRobin   = "round_robin"
	LeastRequest = "least_request_experimental"
)

// DefaultFailureCodes are the status codes that count against the breaker
// when Config.FailureCodes is nil: the service is down, overloaded, too
// slow or broken. Codes that describe the request (InvalidArgument,
// NotFound, PermissionDenied, AlreadyExists...) say nothing about the
// service's health and count as successes.
var DefaultFailureCodes = []codes.Code{codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Internal}

// DefaultRetryableCodes are retried when RetryPolicy.RetryableCodes is nil.
// Only Unavailable: the server did not process the call (gRFC A6 lets
// nothing be retried by default; Unavailable is the code every gRPC
// retry policy in practice lists).
var DefaultRetryableCodes = []codes.Code{codes.Unavailable}

// Config configures one gRPC channel (a pool of ClientConns to one
// service). The zero value of each field means its default.
type Config struct {
	// Name names the channel in errors, events and stats.
	Name string
	// Endpoints are the host:port instances of one service. Several are
	// balanced by grpc-go's Balancing policy inside every ClientConn.
	// Exactly one of Endpoints and Target is required.
	Endpoints []string
	// Target is a gRPC target URI resolved by grpc-go ("dns:///svc:443",
	// "unix:///run/svc.sock"), for services whose instances a resolver
	// knows; it excludes Endpoints.
	Target string
	// TLS is the client TLS configuration (see LoadTLS); nil dials in
	// plain text. It is cloned. Its ServerName, when empty, is the host of
	// the first endpoint.
	TLS *tls.Config
	// Balancing is grpc-go's load balancing policy within a ClientConn:
	// PickFirst, RoundRobin or LeastRequest. Default: RoundRobin with
	// several endpoints, PickFirst with one.
	Balancing string
	// ServiceConfig, when set, is the JSON service config given to grpc-go
	// as is (loadBalancingConfig, methodConfig...); it overrides
	// Balancing. grpc-go's own retries stay disabled: RetryPolicy retries
	// in this package's interceptor, where the breaker sees each attempt.
	ServiceConfig string

	// MaxConns is the most ClientConns the channel opens. One is opened at
	// New; the channel's actor opens another when the streams in flight
	// reach ScaleUpRatio of the limit the server advertises, and closes
	// extras idle for IdleTimeout. Default 4; 1 disables scaling.
	MaxConns int
	// ScaleUpRatio is the share of the advertised stream limit at which
	// another ClientConn is opened. Default 0.8.
	ScaleUpRatio float64
	// MaxConcurrentStreams caps the limit learnt from the server's
	// SETTINGS_MAX_CONCURRENT_STREAMS; it stands in for it when the server
	// advertises none (a proxy that queues without saying so). Default 0:
	// the server's word alone, and a server that advertises no limit is
	// never worth a second ClientConn.
	MaxConcurrentStreams uint32
	// IdleTimeout closes an extra ClientConn that carried no call for this
	// long. Default 1 minute.
	IdleTimeout time.Duration

	// Timeout is the deadline of a unary call whose context has none,
	// retries included (gRFC A6: one deadline over all attempts). Default
	// 5s; negative: none. Streams get no default deadline. Calls whose
	// context is never cancelled share one deadline per Timeout/64 (at
	// most 100ms), so theirs may be that much earlier, never later. It
	// is kept by the client and not sent on the wire; set a deadline on
	// ctx for one the server sees.
	Timeout time.Duration
	// ConnectTimeout bounds each connection attempt. Default 5s.
	ConnectTimeout time.Duration
	// ReconnectBase and ReconnectMax bound grpc-go's reconnect backoff
	// (exponential, jittered). Defaults 200ms and 20s.
	ReconnectBase time.Duration
	ReconnectMax  time.Duration

	// Breaker, when set, guards every call: each unary attempt and each
	// stream is one breaker call. Its CallTimeout bounds each unary
	// attempt (not streams, which may rightly last long): past it the
	// attempt fails with DeadlineExceeded matching breaker.ErrTimeout and
	// counts as a timeout in the breaker's stats. Timeout and the caller's
	// context bound the whole call, retries included.
	Breaker *breaker.Breaker
	// FailureCodes are the status codes that count against the breaker.
	// nil: DefaultFailureCodes. An empty non-nil slice: none do.
	FailureCodes []codes.Code
	// Retry is the retry policy of unary calls.
	Retry RetryPolicy

	// Events receives the channel actor's ConnOpened and ConnClosed, and
	// with RequestEvents an event.AdapterRequest per call. nil publishes
	// none.
	Events *eventstream.EventStream
	// RequestEvents publishes an event.AdapterRequest for every call (as
	// httppool.Config.RequestEvents does for HTTP attempts). Default off:
	// the same counts are in Stats and the node's metrics, and an event per
	// call would cost every call of a node whose event stream has a
	// subscriber (a dashboard open).
	RequestEvents bool

	// DialOptions are appended to the channel's own (credentials,
	// resolver, service config, interceptors). Interceptors given here run
	// inside this package's.
	DialOptions []grpc.DialOption
}

// RetryPolicy is a gRFC A6 retry policy for unary calls: at most
// MaxAttempts attempts, a retry only for RetryableCodes, after a
// jittered exponential backoff (random between 0 and
// min(InitialBackoff × BackoffMultiplier^(n-1), MaxBackoff)), never past
// the call's deadline, and throttled by a token bucket shared by all the
// channel's calls: it starts full with MaxTokens; each failure with a
// retryable code takes one token, each success gives TokenRatio back;
// retries are allowed only while more than MaxTokens/2 tokens remain.
// Streams are not retried.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt. Default 3; 1 disables retries.
	MaxAttempts       int
	InitialBackoff    time.Duration
	MaxBackoff        time.Duration
	BackoffMultiplier float64
	// RetryableCodes nil: DefaultRetryableCodes.
	RetryableCodes []codes.Code
	// MaxTokens and TokenRatio configure the throttle. Defaults 10, 0.1.
	MaxTokens  float64
	TokenRatio float64
}

func (c Config) withDefaults() (Config, error) {
	if (len(c.Endpoints) == 0) == (c.Target == "") {
		return c, fmt.Errorf("grpcpool: channel %s: %w: give exactly one of endpoints and target", c.Name, ErrConfig)
	}
	for _, ep := range c.Endpoints {
		if _, _, err := net.SplitHostPort(ep); err != nil {
			return c, fmt.Errorf("grpcpool: channel %s: endpoint %q: %w: %w", c.Name, ep, ErrConfig, err)
		}
	}
	switch c.Balancing {
	case "":
		c.Balancing = PickFirst
		if len(c.Endpoints) > 1 {
			c.Balancing = RoundRobin
		}
	case "least_request":
		c.Balancing = LeastRequest
	case PickFirst, RoundRobin, LeastRequest:
	default:
		return c, fmt.Errorf("grpcpool: channel %s: balancing %q: %w: want pick_first, round_robin or least_request", c.Name, c.Balancing, ErrConfig)
	}
	if c.MaxConns < 0 {
		return c, fmt.Errorf("grpcpool: channel %s: max conns %d: %w", c.Name, c.MaxConns, ErrConfig)
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.ScaleUpRatio <= 0 || c.ScaleUpRatio > 1 {
		c.ScaleUpRatio = DefaultScaleUpRatio
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.ReconnectBase <= 0 {
		c.ReconnectBase = DefaultReconnectBase
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	if c.ReconnectMax < c.ReconnectBase {
		c.ReconnectMax = c.ReconnectBase
	}
	if c.FailureCodes == nil {
		c.FailureCodes = DefaultFailureCodes
	}
	c.FailureCodes = slices.Clone(c.FailureCodes)
	r := &c.Retry
	if r.MaxAttempts < 0 {
		return c, fmt.Errorf("grpcpool: channel %s: retry max attempts %d: %w", c.Name, r.MaxAttempts, ErrConfig)
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.InitialBackoff <= 0 {
		r.InitialBackoff = DefaultInitialBackoff
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = DefaultMaxBackoff
	}
	if r.BackoffMultiplier < 1 {
		r.BackoffMultiplier = DefaultBackoffMultiplier
	}
	if r.RetryableCodes == nil {
		r.RetryableCodes = DefaultRetryableCodes
	}
	r.RetryableCodes = slices.Clone(r.RetryableCodes)
	if r.MaxTokens <= 0 {
		r.MaxTokens = DefaultRetryMaxTokens
	}
	if r.TokenRatio <= 0 {
		r.TokenRatio = DefaultRetryTokenRatio
	}
	if c.TLS != nil {
		c.TLS = c.TLS.Clone()
		if c.TLS.ServerName == "" && len(c.Endpoints) > 0 {
			host, _, _ := net.SplitHostPort(c.Endpoints[0])
			c.TLS.ServerName = host
		}
	}
	return c, nil
}

// codeSet is a set of status codes, one bit each (there are 17).
type codeSet uint32

func newCodeSet(cs []codes.Code) codeSet {
	var s codeSet
	for _, c := range cs {
		if c < 32 {
			s |= 1 << c
		}
	}
	return s
}

func (s codeSet) has(c codes.Code) bool { return c < 32 && s&(1<<c) != 0 }

// LoadTLS builds a client TLS configuration from a pool's tls: section:
// with CAFile only that CA is trusted (else the system roots); CertFile and
// KeyFile give a client certificate. Certificates are always verified.
func LoadTLS(t config.TLS) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("grpcpool: tls.ca_file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("grpcpool: tls.ca_file %s: %w: no PEM certificate found", t.CAFile, ErrConfig)
		}
		c.RootCAs = roots
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("grpcpool: tls: %w", errors.Join(ErrConfig, errors.New("cert_file and key_file must be given together")))
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("grpcpool: tls client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// FromConfig turns a pools.<name> entry with protocol grpc into a Config
// (TLS files are read now): endpoints (or host:port), load_balancing
// (round_robin, least_request, pick_first; p2c maps to least_request,
// which is grpc-go's power-of-two-choices on requests in flight), timeout,
// dial_timeout (ConnectTimeout), idle_timeout (of extra ClientConns) and
// tls (scheme grpcs, or any TLS file, turns TLS on). size is not mapped:
// a gRPC channel bounds ClientConns (MaxConns), not requests. The node
// sets Breaker, Events and the retry policy.
func FromConfig(name string, p config.Pool) (Config, error) {
	if p.Protocol != config.ProtocolGRPC {
		return Config{}, fmt.Errorf("grpcpool: pool %s: protocol %q is not grpc: %w", name, p.Protocol, ErrConfig)
	}
	eps := slices.Clone(p.Endpoints)
	if len(eps) == 0 && p.Host != "" {
		eps = []string{net.JoinHostPort(p.Host, fmt.Sprint(p.Port))}
	}
	bal := p.LoadBalancing
	if bal == "p2c" {
		bal = LeastRequest
	}
	c := Config{
		Name:           name,
		Endpoints:      eps,
		Balancing:      bal,
		Timeout:        p.Timeout.D(),
		ConnectTimeout: p.DialTimeout.D(),
		IdleTimeout:    p.IdleTimeout.D(),
	}
	if p.Scheme == "grpcs" || p.TLS.CAFile != "" || p.TLS.CertFile != "" {
		tc, err := LoadTLS(p.TLS)
		if err != nil {
			return Config{}, fmt.Errorf("grpcpool: pool %s: %w", name, err)
		}
		c.TLS = tc
	}
	if _, err := c.withDefaults(); err != nil {
		return Config{}, err
	}
	return c, nil
}
