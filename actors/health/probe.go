package health

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sync"
)

// DefaultMaxBody is the most of an HTTP body read for a body match.
const DefaultMaxBody = 64 << 10

// HTTPProbe GETs URL (or Method) and expects one of ExpectedStatus (any 2xx
// when empty) and, when set, a body that contains BodyContains and matches
// BodyRegexp.
type HTTPProbe struct {
	URL    string
	Method string // default GET
	Header http.Header
	// ExpectedStatus lists the healthy status codes; empty means 200–299.
	ExpectedStatus []int
	BodyContains   string
	BodyRegexp     *regexp.Regexp
	// MaxBody bounds what a body match reads; default DefaultMaxBody.
	MaxBody int64
	// Client sends the request; nil means a private client whose idle
	// connections Close releases. Its own timeout, if any, applies too.
	Client *http.Client

	once   sync.Once
	client *http.Client
	owned  *http.Transport
}

var _ Prober = (*HTTPProbe)(nil)
var _ io.Closer = (*HTTPProbe)(nil)

func (p *HTTPProbe) init() {
	p.once.Do(func() {
		p.client = p.Client
		if p.client == nil {
			p.owned = &http.Transport{Proxy: nil, MaxIdleConns: 1, MaxIdleConnsPerHost: 1}
			// Redirects are followed, as Kubernetes probes do: the final
			// status counts. One idle connection is kept for the next probe.
			p.client = &http.Client{Transport: p.owned}
		}
	})
}

// Probe sends one request.
func (p *HTTPProbe) Probe(ctx context.Context) error {
	p.init()
	method := p.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL, nil)
	if err != nil {
		return err
	}
	for k, v := range p.Header {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	max := p.MaxBody
	if max <= 0 {
		max = DefaultMaxBody
	}
	if se := (&StatusError{Got: resp.StatusCode, Want: p.ExpectedStatus}); !se.expected() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, max)) // lets the connection be reused
		return se
	}
	if p.BodyContains == "" && p.BodyRegexp == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, max))
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max))
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if p.BodyContains != "" && !bytes.Contains(body, []byte(p.BodyContains)) {
		return fmt.Errorf("%w: no %q in the first %d bytes", ErrBody, p.BodyContains, len(body))
	}
	if p.BodyRegexp != nil && !p.BodyRegexp.Match(body) {
		return fmt.Errorf("%w: no match of /%s/ in the first %d bytes", ErrBody, p.BodyRegexp, len(body))
	}
	return nil
}

// Close releases the private client's idle connections.
func (p *HTTPProbe) Close() error {
	p.init()
	if p.owned != nil {
		p.owned.CloseIdleConnections()
	}
	return nil
}

// TCPProbe connects to Address (host:port) and closes the connection.
type TCPProbe struct {
	Address string
}

var _ Prober = (*TCPProbe)(nil)

// Probe dials once.
func (p *TCPProbe) Probe(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.Address)
	if err != nil {
		return err
	}
	return c.Close()
}

// Pinger is what a Redis check needs: the node's state.Store has it, and
// so has a go-redis client wrapped in a func.
type Pinger interface {
	Ping(ctx context.Context) error
}

// PingProbe probes p.Ping (a Redis PING).
func PingProbe(p Pinger) Prober { return ProbeFunc(p.Ping) }
