package httppool

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/viable-systems/vsm-connections/balancer"
	"github.com/viable-systems/vsm-connections/pool"
)

// durationBounds are the request duration buckets' upper bounds.
var durationBounds = [...]time.Duration{
	250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond,
	2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// DurationBounds returns the upper bounds of the request duration
// histogram's buckets.
func DurationBounds() []time.Duration { return append([]time.Duration(nil), durationBounds[:]...) }

type histogram struct {
	counts [len(durationBounds) + 1]atomic.Uint64
	sum    atomic.Int64
}

func (h *histogram) observe(d time.Duration) {
	i := 0
	for i < len(durationBounds) && d > durationBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

func (h *histogram) snapshot() pool.Histogram {
	out := pool.Histogram{Sum: time.Duration(h.sum.Load()), Buckets: make([]pool.Bucket, len(durationBounds))}
	var cum uint64
	for i, b := range durationBounds {
		cum += h.counts[i].Load()
		out.Buckets[i] = pool.Bucket{LE: b, Count: cum}
	}
	out.Count = cum + h.counts[len(durationBounds)].Load()
	return out
}

// connCounts counts the TCP connections the transport opens and closes:
// per connection, not per request, so it costs the hot path nothing.
type connCounts struct {
	opened, closed atomic.Uint64
}

func (cc *connCounts) dialer(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cc.opened.Add(1)
		return &countedConn{Conn: conn, cc: cc}, nil
	}
}

type countedConn struct {
	net.Conn
	cc   *connCounts
	once sync.Once

	// owner is the try whose deadline the connection carries, nil when
	// none: the transport may hand the connection to another request as
	// soon as a body is read, before the try that read it clears its
	// deadline, and that clear must not undo the next request's.
	mu    sync.Mutex
	owner *attempt
}

// setDeadline gives the connection to a's current try, with its deadline.
func (c *countedConn) setDeadline(a *attempt, dl time.Time) {
	c.mu.Lock()
	c.owner = a
	_ = c.Conn.SetDeadline(dl) // fails only on a closed connection, which the try will see
	c.mu.Unlock()
}

// clearDeadline removes a's deadline, unless another request has taken
// the connection since.
func (c *countedConn) clearDeadline(a *attempt) {
	c.mu.Lock()
	if c.owner == a {
		c.owner = nil
		_ = c.Conn.SetDeadline(time.Time{})
	}
	c.mu.Unlock()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.cc.closed.Add(1) })
	return err
}

// Requests counts exchanges (attempts, not calls) by outcome.
type Requests struct {
	Informational uint64 `json:"1xx"`
	Success       uint64 `json:"2xx"`
	Redirect      uint64 `json:"3xx"`
	ClientError   uint64 `json:"4xx"`
	ServerError   uint64 `json:"5xx"`
	// Errors are exchanges with no usable reply.
	Errors uint64 `json:"errors"`
}

// Calls counts the calls made through Do (and the RoundTripper), each of
// one or more attempts: what callers saw once retries were done. Set
// against Requests (attempts) it shows how much retries hide:
// Succeeded/Total is the effective success rate, 2xx/attempts the actual
// one.
type Calls struct {
	Total     uint64 `json:"total"`
	Succeeded uint64 `json:"succeeded"`
	// Retried counts calls that took more than one attempt.
	Retried uint64 `json:"retried"`
}

type callCounts struct{ total, succeeded, retried atomic.Uint64 }

// record counts one call that made attempts tries and ended with err.
func (c *callCounts) record(attempts int, err error) {
	c.total.Add(1)
	if err == nil {
		c.succeeded.Add(1)
	}
	if attempts > 1 {
		c.retried.Add(1)
	}
}

// Stats is a point-in-time view of a pool. The embedded pool.Stats counts
// slots: a slot is one request in flight.
type Stats struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	Scheme   string `json:"scheme"`
	Breaker  string `json:"breaker,omitempty"`
	pool.Stats
	// Endpoints are the balanced instances, with ejection state.
	Endpoints []balancer.EndpointStats `json:"endpoints"`
	Requests  Requests                 `json:"requests"`
	Calls     Calls                    `json:"calls"`
	// Duration is the exchanges' duration histogram (send to body read).
	Duration pool.Histogram `json:"duration"`
	// ConnsOpened and ConnsClosed count TCP connections; their difference
	// is the number open now.
	ConnsOpened uint64 `json:"conns_opened"`
	ConnsClosed uint64 `json:"conns_closed"`
	Stopped     bool   `json:"stopped,omitempty"`
}

// Stats returns the pool's figures.
func (c *Client) Stats() Stats {
	s := Stats{
		Name:     c.cfg.Name,
		Protocol: "http",
		Scheme:   c.cfg.Scheme,
		Stats:    c.slots.Stats(),
		Requests: Requests{
			Informational: c.classes[0].Load(),
			Success:       c.classes[1].Load(),
			Redirect:      c.classes[2].Load(),
			ClientError:   c.classes[3].Load(),
			ServerError:   c.classes[4].Load(),
			Errors:        c.classes[5].Load(),
		},
		Calls:       Calls{Total: c.calls.total.Load(), Succeeded: c.calls.succeeded.Load(), Retried: c.calls.retried.Load()},
		Duration:    c.latency.snapshot(),
		ConnsOpened: c.conns.opened.Load(),
		ConnsClosed: c.conns.closed.Load(),
		Stopped:     c.closed.Load(),
	}
	if c.cfg.Breaker != nil {
		s.Breaker = c.cfg.Breaker.Name()
	}
	if c.bal != nil {
		s.Endpoints = c.bal.Endpoints()
	} else {
		s.Endpoints = []balancer.EndpointStats{}
	}
	return s
}
