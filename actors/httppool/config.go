package httppool

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/viable-systems/vsm-connections/balancer"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/fault"
)

// Defaults of zero Config fields.
const (
	DefaultSize                = 10
	DefaultTimeout             = 5 * time.Second
	DefaultDialTimeout         = 5 * time.Second
	DefaultTLSHandshakeTimeout = 5 * time.Second
	DefaultIdleTimeout         = 90 * time.Second
	DefaultMaxResponseBody     = config.DefaultMaxResponseBody
)

// Config configures one pool's client. The zero value of each field means
// its default; FromConfig fills one from the pools: section of a node's
// config.
type Config struct {
	// Name names the pool in errors, events and metrics.
	Name string
	// Scheme is "http" (default) or "https".
	Scheme string
	// Endpoints are host:port instances of one service, balanced with
	// Balancer. Empty: only absolute URLs can be requested.
	Endpoints []string
	// Balancer chooses the policy and outlier ejection. Its Listener is
	// called too, besides the pool actor's.
	Balancer balancer.Config
	// Size is the most requests in flight at once (the pool's slots), hence
	// the most connections in use per endpoint. Default 10.
	Size int
	// Timeout bounds each attempt (checkout wait, connect, reply and body)
	// and the checkout wait alone. Default 5s. Request.Timeout replaces it
	// for one request; the breaker's call_timeout, when shorter, bounds
	// each attempt too. The caller's context bounds the whole call, retries
	// included.
	Timeout time.Duration
	// Transport timeouts. Defaults 5s, 5s, none and 90s.
	// ResponseHeaderTimeout is enforced by the transport only when it is
	// below Timeout (at or above, the attempt's deadline already covers
	// it); then it applies to every request, whatever its Timeout.
	DialTimeout           time.Duration
	TLSHandshakeTimeout   time.Duration
	ResponseHeaderTimeout time.Duration
	IdleTimeout           time.Duration
	// MaxResponseBody is the longest body read, in bytes; longer fails with
	// ErrBodyTooLarge. Default 10 MiB.
	MaxResponseBody int64
	// TLS is the client TLS configuration for https (see LoadTLS); nil uses
	// the system roots. It is cloned.
	TLS *tls.Config
	// Breaker guards every request that names no other.
	Breaker *breaker.Breaker
	// Breakers resolves Request.Breaker; nil: naming a breaker fails with
	// ErrNoBreaker.
	Breakers func(name string) (*breaker.Breaker, bool)
	// Retry holds the default retry options (fault_tolerance), applied
	// before each request's own.
	Retry []fault.Option
	// Classify judges outcomes. Default DefaultClassifier.
	Classify Classifier
	// Events receives event.PoolCheckout and event.AdapterRequest, one per
	// attempt, when RequestEvents is set; nil publishes none. Publishing
	// runs every subscriber on the request's goroutine and costs every
	// request, so it is opt-in: the counts they carry are in Stats (and
	// the metrics read from it) whether or not events are published.
	Events *eventstream.EventStream
	// RequestEvents turns the per-attempt events on (request_events in
	// the config). Default off.
	RequestEvents bool
}

func (c Config) withDefaults() (Config, error) {
	if c.Scheme == "" {
		c.Scheme = "http"
	}
	if c.Scheme != "http" && c.Scheme != "https" {
		return c, fmt.Errorf("httppool: pool %s: scheme %q: want http or https", c.Name, c.Scheme)
	}
	if c.Size < 0 {
		return c, fmt.Errorf("httppool: pool %s: size %d: must be at least 1", c.Name, c.Size)
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.TLSHandshakeTimeout <= 0 {
		c.TLSHandshakeTimeout = DefaultTLSHandshakeTimeout
	}
	if c.ResponseHeaderTimeout < 0 {
		c.ResponseHeaderTimeout = 0
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxResponseBody < 0 {
		return c, fmt.Errorf("httppool: pool %s: max response body %d is negative", c.Name, c.MaxResponseBody)
	}
	if c.MaxResponseBody == 0 {
		c.MaxResponseBody = DefaultMaxResponseBody
	}
	if c.Classify == nil {
		c.Classify = DefaultClassifier
	}
	return c, nil
}

// FromConfig turns a pools.<name> entry into a Config (TLS files are read
// now). The node sets Breaker, Breakers, Retry and Events.
func FromConfig(name string, p config.Pool) (Config, error) {
	if p.Protocol != "" && p.Protocol != config.ProtocolHTTP {
		return Config{}, fmt.Errorf("httppool: pool %s: protocol %q is not http", name, p.Protocol)
	}
	eps := p.Endpoints
	if len(eps) == 0 && p.Host != "" {
		eps = []string{net.JoinHostPort(p.Host, strconv.Itoa(p.Port))}
	}
	pol, err := balancer.ParsePolicy(p.LoadBalancing)
	if err != nil {
		return Config{}, fmt.Errorf("httppool: pool %s: %w", name, err)
	}
	scheme := p.Scheme
	if scheme == "" {
		scheme = "http"
		if p.TLS.CAFile != "" || p.TLS.CertFile != "" {
			scheme = "https"
		}
	}
	c := Config{
		Name:      name,
		Scheme:    scheme,
		Endpoints: append([]string(nil), eps...),
		Balancer: balancer.Config{
			Policy:              pol,
			ConsecutiveFailures: p.Outlier.ConsecutiveFailures,
			BaseEjectionTime:    p.Outlier.BaseEjectionTime.D(),
			MaxEjectionPercent:  p.Outlier.MaxEjectionPercent,
		},
		Size:                  p.Size,
		Timeout:               p.Timeout.D(),
		DialTimeout:           p.DialTimeout.D(),
		TLSHandshakeTimeout:   p.TLSHandshakeTimeout.D(),
		ResponseHeaderTimeout: p.ResponseHeaderTimeout.D(),
		IdleTimeout:           p.IdleTimeout.D(),
		MaxResponseBody:       p.MaxResponseBody,
		RequestEvents:         p.RequestEvents,
	}
	if scheme == "https" {
		if c.TLS, err = LoadTLS(p.TLS); err != nil {
			return Config{}, fmt.Errorf("httppool: pool %s: %w", name, err)
		}
	}
	return c, nil
}

// LoadTLS builds a client TLS configuration: with CAFile, only that CA is
// trusted (else the system roots); CertFile and KeyFile give a client
// certificate. Certificates are always verified: there is no insecure mode.
func LoadTLS(t config.TLS) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificate found", t.CAFile)
		}
		c.RootCAs = roots
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("tls: cert_file and key_file must be given together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
