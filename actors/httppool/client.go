package httppool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/viable-systems/vsm-connections/balancer"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/pool"
)

// Client is one HTTP pool: the handle that plain Go code calls and that the
// pool actor owns. All its state lives here, outside the actor, so an
// actor restart loses nothing. Its methods are safe for concurrent use.
type Client struct {
	cfg     Config
	slots   *pool.Pool[struct{}]
	bal     *balancer.Balancer // nil without endpoints
	bases   map[string]string  // endpoint → "scheme://host:port"
	tr      atomic.Pointer[transport]
	classes [6]atomic.Uint64 // replies by status class 1xx..5xx, then errors
	calls   callCounts       // Do calls, after retries
	latency histogram
	conns   connCounts
	// connBound is the longest the transport may take to hand a request a
	// new connection (dial, TLS handshake): an attempt whose limit is at
	// least that may keep it by a deadline on the connection.
	connBound time.Duration

	// notify is the pool actor's listener for balancer changes; nil while
	// no actor runs.
	notify atomic.Pointer[func(balancer.Notification)]

	mu     sync.Mutex // serialises Resize and Close
	closed atomic.Bool
}

// transport is one generation of the pool's http.Transport. A resize keeps
// it (and its idle connections); the pool actor's stop publishes a new one
// and retires the old, whose idle connections close as soon as its last
// request ends.
type transport struct {
	rt       *http.Transport
	inflight atomic.Int64
	retired  atomic.Bool
}

func (t *transport) release() {
	if t.inflight.Add(-1) == 0 && t.retired.Load() {
		t.rt.CloseIdleConnections()
	}
}

func (t *transport) retire() {
	t.retired.Store(true)
	if t.inflight.Load() == 0 {
		t.rt.CloseIdleConnections()
	}
}

type slotFactory struct{}

func (slotFactory) New(context.Context) (struct{}, error) { return struct{}{}, nil }
func (slotFactory) Close(struct{}) error                  { return nil }

// New returns the client of one pool. It dials nothing until used.
func New(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, bases: make(map[string]string, len(cfg.Endpoints)), connBound: cfg.DialTimeout}
	if cfg.Scheme == "https" || cfg.TLS != nil {
		c.connBound += cfg.TLSHandshakeTimeout
	}
	// The pool's resource is a slot, a permission to have one request in
	// flight: net/http owns the TCP connections, so the pool bounds and
	// measures concurrency (waiters, checkout waits, timeouts), and with it
	// the connections in use per endpoint, while the transport keeps the
	// idle ones for reuse.
	c.slots, err = pool.New[struct{}](pool.Config{Size: cfg.Size, Timeout: cfg.Timeout}, slotFactory{})
	if err != nil {
		return nil, fmt.Errorf("httppool: pool %s: %w", cfg.Name, err)
	}
	if len(cfg.Endpoints) > 0 {
		bc := cfg.Balancer
		user := bc.Listener
		bc.Listener = func(n balancer.Notification) {
			if f := c.notify.Load(); f != nil {
				(*f)(n)
			}
			if user != nil {
				user(n)
			}
		}
		if c.bal, err = balancer.New(cfg.Endpoints, bc); err != nil {
			return nil, fmt.Errorf("httppool: pool %s: %w", cfg.Name, err)
		}
		for _, ep := range cfg.Endpoints {
			c.bases[ep] = cfg.Scheme + "://" + ep
		}
	}
	c.tr.Store(&transport{rt: c.newTransport()})
	return c, nil
}

// maxIdlePerEndpoint is the transport's idle limit per endpoint: a ceiling
// that never binds in practice (see newTransport).
const maxIdlePerEndpoint = 1 << 16

// newTransport makes the pool's transport. Its fields cannot change once
// it is in use, so its per-endpoint limits are not where the pool's size is
// enforced, and a resize keeps it with its idle connections: the slots bound
// the requests in flight, hence the connections in use per endpoint, at
// the current size (a request takes its slot before the transport looks
// for a connection and gives it back after the body is read, by when
// net/http has made the connection idle again, so a busy pool reuses
// rather than dials). Idle connections are reused most recent first, so
// after a shrink the surplus ones are never picked and close after
// IdleTimeout. MaxConnsPerHost stays 0: a limit there would only cap a
// grown pool at its old size.
func (c *Client) newTransport() *http.Transport {
	d := &net.Dialer{Timeout: c.cfg.DialTimeout, KeepAlive: 30 * time.Second}
	// A response-header timeout at or above Timeout adds nothing to the
	// attempt's own deadline, and would cut short a request whose Timeout
	// is longer than the pool's: only a stricter one is the transport's.
	var header time.Duration
	if c.cfg.ResponseHeaderTimeout < c.cfg.Timeout {
		header = c.cfg.ResponseHeaderTimeout
	}
	t := &http.Transport{
		DialContext:           c.conns.dialer(d),
		TLSHandshakeTimeout:   c.cfg.TLSHandshakeTimeout,
		ResponseHeaderTimeout: header,
		IdleConnTimeout:       c.cfg.IdleTimeout,
		MaxIdleConnsPerHost:   maxIdlePerEndpoint,
		ExpectContinueTimeout: time.Second,
		// The body limit is ours to enforce; a gzip layer would hide the
		// real size from it.
		DisableCompression: true,
	}
	if c.cfg.TLS != nil {
		t.TLSClientConfig = c.cfg.TLS.Clone()
	}
	return t
}

// Name is the pool's name.
func (c *Client) Name() string { return c.cfg.Name }

// Config is the client's configuration with defaults filled in.
func (c *Client) Config() Config { return c.cfg }

// Balancer is the pool's balancer, nil when it has no endpoints.
func (c *Client) Balancer() *balancer.Balancer { return c.bal }

// HasEndpoint reports whether addr (host:port) is one of the endpoints.
func (c *Client) HasEndpoint(addr string) bool {
	_, ok := c.bases[addr]
	return ok
}

// resize changes the number of slots (update_pool). Requests in flight
// finish; a shrink takes effect as they end. The transport and its idle
// connections are kept: after a grow the old connections serve the first
// requests, after a shrink the surplus ones close after IdleTimeout. It
// returns the size before.
//
// It is unexported on purpose: the pool actor is the only writer of the
// size (it publishes event.PoolResized for every change), so every resize
// goes through a *ResizePool message, sent by System 3 or by the [Resize]
// helper. The handle only reads.
func (c *Client) resize(n int) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return 0, ErrClosed
	}
	from := c.slots.Size()
	if err := c.slots.Resize(n); err != nil {
		return from, fmt.Errorf("httppool: pool %s: %w", c.cfg.Name, err)
	}
	return from, nil
}

// Close fails later requests with ErrClosed, lets those in flight finish
// and closes the idle connections (those in flight are closed as they end).
// It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Swap(true) {
		return nil
	}
	err := c.slots.Close()
	c.tr.Load().retire()
	return err
}

// recycle replaces the transport by a fresh one of the same size and
// retires the old one, so no connection outlives its requests.
func (c *Client) recycle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return
	}
	old := c.tr.Swap(&transport{rt: c.newTransport()})
	old.retire()
}

// CloseIdleConnections closes the connections no request is using.
func (c *Client) CloseIdleConnections() { c.tr.Load().rt.CloseIdleConnections() }

// target is a request's URL, parsed once per call.
type target struct {
	rel  *url.URL // relative: completed with the picked endpoint
	abs  *url.URL // absolute
	addr string   // abs's host:port, the scheme's port filled in
	// used is set once rel has been handed to a try: later tries copy it,
	// since the transport may still read the first one's URL (a request
	// write that outlives a cancelled try).
	used bool
}

func (c *Client) parse(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if u.IsAbs() {
		if u.Scheme != "http" && u.Scheme != "https" {
			return target{}, fmt.Errorf("%w: scheme %q", ErrBadRequest, u.Scheme)
		}
		return target{abs: u, addr: hostPort(u)}, nil
	}
	if c.bal == nil {
		return target{}, fmt.Errorf("%w: relative URL %q on pool %s, which has no endpoints", ErrBadRequest, raw, c.cfg.Name)
	}
	if u.Host != "" {
		return target{}, fmt.Errorf("%w: URL %q has a host but no scheme", ErrBadRequest, raw)
	}
	if !strings.HasPrefix(u.Path, "/") && u.Path != "" {
		u.Path = "/" + u.Path
	}
	return target{rel: u}, nil
}

// at is the URL of one try on endpoint addr: the parsed relative URL
// itself on the first try (no copy), a copy on later ones.
func (t *target) at(scheme, addr string) *url.URL {
	u := t.rel
	if t.used {
		cp := *t.rel
		u = &cp
	}
	t.used = true
	u.Scheme, u.Host = scheme, addr
	return u
}

// hostPort is u's host:port with the scheme's default port filled in.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// Do sends req through the pool: retry (per Request.Retry and the pool's
// defaults) around attempts that each ask the breaker, check a slot out,
// pick an endpoint, send, read the whole body and classify the outcome for
// the breaker, the balancer and retry.
//
// It returns a *Response, or an error: a *StatusError for a status
// classified as a failure or to retry (by default 5xx, 429) once no attempt
// is left, a *RequestError for a failed exchange, breaker.ErrOpen when the
// breaker rejected the call, a pool error (pool.ErrTimeout) when no slot
// freed in time, ctx's error when it ended. After retries the error is
// fault's *ExhaustedError or *InterruptedError, which unwrap to these.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	tgt, err := c.parse(req.URL)
	if err != nil {
		return nil, err
	}
	b := c.cfg.Breaker
	if req.Breaker != "" {
		var ok bool
		if c.cfg.Breakers != nil {
			b, ok = c.cfg.Breakers(req.Breaker)
		}
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrNoBreaker, req.Breaker)
		}
	}
	classify := c.cfg.Classify
	if req.Classify != nil {
		classify = req.Classify
	}
	// The attempt's own limit is the tightest of the pool's (or the
	// request's) timeout and the breaker's call_timeout; the breaker wins a
	// tie, so that it counts the timeout as its own.
	timeout, limit := c.cfg.Timeout, LimitPool
	if req.Timeout > 0 {
		timeout, limit = req.Timeout, LimitRequest
	}
	if b != nil {
		if ct := b.Settings().CallTimeout; ct > 0 && ct <= timeout {
			timeout, limit = ct, LimitBreaker
		}
	}
	// A deadline on the connection can keep the limit when neither the
	// checkout (bounded by the pool's timeout) nor a new connection (dial,
	// TLS handshake) can outlast it; otherwise a context timer does.
	bound := c.connBound
	if tgt.abs != nil && tgt.abs.Scheme == "https" && c.cfg.Scheme != "https" {
		bound += c.cfg.TLSHandshakeTimeout
	}
	a := &attempt{c: c, req: req, tgt: tgt, b: b, classify: classify, timeout: timeout, limit: limit,
		onConn: timeout >= c.cfg.Timeout && bound <= timeout}
	var resp *Response
	if req.Retry == nil && !idempotent(req.Method) {
		resp, err, _ = a.run(ctx)
	} else {
		opts := c.cfg.Retry
		if len(req.Retry) > 0 {
			opts = append(append(make([]fault.Option, 0, len(opts)+len(req.Retry)), opts...), req.Retry...)
		}
		resp, err = fault.Do(ctx, a.retryable, opts...)
	}
	c.calls.record(a.n, err)
	return resp, err
}

// attempt is one call's fixed inputs, shared by its tries.
type attempt struct {
	c        *Client
	req      Request // by value: one allocation with the attempt
	tgt      target
	b        *breaker.Breaker
	classify Classifier
	timeout  time.Duration // the attempt's own limit, named by limit
	limit    Limit
	n        int
	// onConn: the limit may be kept by a deadline on the try's connection
	// rather than by a context timer (see run).
	onConn bool

	// The connection deadline of the current try (zero: none), the
	// connection it is set on, and the trace that finds it.
	dl    time.Time
	conn  *countedConn
	trace httptrace.ClientTrace
	hook  func(httptrace.GotConnInfo)
}

func (a *attempt) retryable(ctx context.Context) (*Response, error) {
	resp, err, retry := a.run(ctx)
	if err != nil && !retry {
		return nil, fault.Permanent(err)
	}
	return resp, err
}

// ignored is a cancelled context: a breaker token done with it and
// context.Canceled records neither success nor failure. It is used for
// outcomes that say nothing about the service (no free slot, pool closed).
var ignored = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// run makes one attempt and says whether its error is worth retrying.
func (a *attempt) run(ctx context.Context) (*Response, error, bool) {
	c := a.c
	a.n++
	var tok breaker.Token
	if a.b != nil {
		t, err := a.b.Allow()
		if err != nil {
			return nil, err, false
		}
		tok = t
	}
	// The attempt's limit, kept the cheapest way that keeps it exactly:
	//   - a caller's deadline at or before it bounds the attempt alone, so
	//     the attempt runs on the caller's context with no timer of its own
	//     (and a timeout then is the caller's);
	//   - else, where the checkout's own timer and the dial cannot outlast
	//     it (onConn), a deadline set on the connection the transport picks
	//     (GotConn) bounds the request's write, the reply and the body: a
	//     context timer would cost ~1.5 µs and 7 allocations per attempt,
	//     and make net/http register a child context under it;
	//   - else a context timer, whose cause names the limit.
	actx := ctx
	dl, hasDeadline := ctx.Deadline()
	var left time.Duration
	if hasDeadline {
		left = time.Until(dl)
	}
	a.dl = time.Time{}
	switch {
	case hasDeadline && left <= a.timeout:
	case a.onConn:
		a.dl = time.Now().Add(a.timeout)
		actx = a.withTrace(ctx)
	default:
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(ctx, a.timeout, limitCause(a.limit))
		defer cancel()
	}
	lease, err := c.slots.Get(actx)
	if err != nil {
		tok.Done(ignored, context.Canceled)
		switch {
		case errors.Is(err, pool.ErrClosed):
			err = ErrClosed
		case errors.Is(err, pool.ErrTimeout):
			// The checkout's own timer: the pool's timeout.
			err = &TimeoutError{Limit: LimitPool, Timeout: c.cfg.Timeout, Err: err}
		case errors.Is(err, context.DeadlineExceeded):
			err = a.timedOut(ctx, actx, left, err)
		}
		return nil, fmt.Errorf("httppool: pool %s: %w", c.cfg.Name, err), false
	}
	if c.listened() {
		c.cfg.Events.Publish(&event.PoolCheckout{Pool: c.cfg.Name, Wait: lease.Wait(), At: time.Now()})
	}

	var ep *balancer.Endpoint
	var u *url.URL
	var addr string
	switch {
	case a.tgt.rel != nil:
		ep, err = c.bal.Pick()
		if err != nil {
			lease.Release()
			tok.Done(ignored, context.Canceled)
			return nil, fmt.Errorf("httppool: pool %s: %w", c.cfg.Name, err), true
		}
		addr = ep.Addr
		u = a.tgt.at(c.cfg.Scheme, addr)
	default:
		u, addr = a.tgt.abs, a.tgt.addr
	}

	start := time.Now()
	resp, err := c.send(actx, &a.req, u)
	dur := time.Since(start)
	if a.conn != nil {
		// The body is read and closed: the connection may serve another
		// request now, which must not inherit this try's deadline.
		a.conn.clearDeadline(a)
		a.conn = nil
	}
	lease.Release()
	if resp != nil {
		resp.Endpoint = addr
		resp.Attempts = a.n
	}

	status := 0
	if resp != nil {
		status = resp.Status
	}
	var v Verdict
	// A caller that cancelled says nothing about the service; one whose
	// deadline passed met a slow service, which counts as a timeout.
	callerGone := err != nil && errors.Is(ctx.Err(), context.Canceled)
	tooLarge := errors.Is(err, ErrBodyTooLarge)
	breakerTimeout := false
	if err != nil && !callerGone && !tooLarge {
		err = a.timedOut(ctx, actx, left, err)
		var te *TimeoutError
		breakerTimeout = errors.As(err, &te) && te.Limit == LimitBreaker
	}
	switch {
	case callerGone || tooLarge:
		// The caller gave up, or the reply was whole but too large: neither
		// says the service failed, and neither is worth another try.
	default:
		v = a.classify(status, err)
	}
	var outcome error
	// The breaker's own call_timeout is a failure and a timeout for it
	// whatever the classifier says, as in breaker.Call.
	if v.Failure || breakerTimeout {
		outcome = err
		if outcome == nil {
			outcome = ErrStatus
		}
	}
	if callerGone {
		tok.Done(ctx, context.Canceled)
	} else {
		tok.Done(ctx, outcome)
	}
	switch {
	case ep != nil && callerGone:
		ep.Abandon()
	case ep != nil:
		ep.Done(outcome)
	}
	c.record(status, err, dur)
	if c.listened() {
		ev := &event.AdapterRequest{Protocol: "http", Pool: c.cfg.Name, Endpoint: addr, Method: a.req.Method,
			Status: status, Duration: dur, At: start}
		if err != nil {
			ev.Err = err.Error()
		}
		c.cfg.Events.Publish(ev)
	}

	if err != nil {
		return nil, &RequestError{Pool: c.cfg.Name, Method: a.req.Method, URL: u.String(), Endpoint: addr, Err: err}, v.Retry
	}
	if v.Retry || v.Failure {
		return nil, &StatusError{Pool: c.cfg.Name, Method: a.req.Method, URL: u.String(), Response: resp}, v.Retry
	}
	return resp, nil, false
}

// timedOut wraps err in a *TimeoutError naming the limit that ended the
// attempt: its own timer (pool, request or breaker limit: actx's cause
// says it fired, even if the caller's deadline has passed since), else the
// caller's deadline, else one of the transport's timeouts (dial, TLS
// handshake, response header). Any other error is returned as is. left is
// the time the caller's deadline left when the attempt began.
func (a *attempt) timedOut(ctx, actx context.Context, left time.Duration, err error) error {
	switch {
	case actx != ctx && context.Cause(actx) == error(limitCause(a.limit)):
		return a.ownTimeout(err)
	case !a.dl.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(a.dl):
		// The connection's deadline, set before the caller's (onConn is
		// used only then): the attempt's own limit fired.
		return a.ownTimeout(err)
	case ctx.Err() == context.DeadlineExceeded:
		return &TimeoutError{Limit: LimitCaller, Timeout: left, Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &TimeoutError{Limit: LimitTransport, Err: err}
	}
	return err
}

// ownTimeout is the *TimeoutError of the attempt's own limit.
func (a *attempt) ownTimeout(err error) error {
	te := &TimeoutError{Limit: a.limit, Timeout: a.timeout, Err: err}
	if a.limit == LimitBreaker {
		te.Breaker = a.b.Name()
		te.Err = &breaker.TimeoutError{Name: te.Breaker, Timeout: a.timeout, Err: err}
	}
	return te
}

// withTrace is ctx with the trace that sets the try's deadline on its
// connection (one allocation; the hook is made once per call). The trace
// is reset each try: WithClientTrace composes it with a trace of the
// caller's, whose hooks must run once per try, not once more each retry.
func (a *attempt) withTrace(ctx context.Context) context.Context {
	if a.hook == nil {
		a.hook = a.gotConn
	}
	a.trace = httptrace.ClientTrace{GotConn: a.hook}
	return httptrace.WithClientTrace(ctx, &a.trace)
}

// gotConn runs on the try's goroutine when the transport hands it a
// connection, before the request is written: from here the deadline
// bounds the write, the reply and the body read. A deadline already past
// (a slow dial) fails the write at once.
func (a *attempt) gotConn(info httptrace.GotConnInfo) {
	if a.dl.IsZero() {
		return
	}
	conn := info.Conn
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok { // *tls.Conn
		conn = tc.NetConn()
	}
	cc, ok := conn.(*countedConn)
	if !ok {
		// Every connection comes from the pool's dialer, so this does not
		// happen; were it to, the limit would still hold, for this request
		// and whichever takes the connection after it.
		_ = info.Conn.SetDeadline(a.dl)
		return
	}
	cc.setDeadline(a, a.dl)
	a.conn = cc
}

// listened reports whether the per-attempt events are published: a field
// read, so that a pool without them takes no lock for them (protoactor's
// EventStream.Length takes a read lock).
func (c *Client) listened() bool { return c.cfg.RequestEvents && c.cfg.Events != nil }

// send makes one exchange and reads the whole body.
func (c *Client) send(ctx context.Context, r *Request, u *url.URL) (*Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, r.Method, "", body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	hreq.URL, hreq.Host = u, u.Host
	if r.Header != nil {
		hreq.Header = r.Header
	}
	t := c.tr.Load()
	t.inflight.Add(1)
	defer t.release()
	hresp, err := t.rt.RoundTrip(hreq)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	data, err := readBody(hresp, c.cfg.MaxResponseBody)
	if err != nil {
		return nil, err
	}
	return &Response{Status: hresp.StatusCode, Header: hresp.Header, Body: data}, nil
}

// readBody reads the whole body, at most limit bytes (more is
// ErrBodyTooLarge), into one buffer sized by Content-Length when the reply
// gives it: one allocation for a body of known length, where
// bytes.Buffer.ReadFrom would allocate at least 512 bytes again.
func readBody(hresp *http.Response, limit int64) ([]byte, error) {
	if hresp.Body == http.NoBody {
		// A reply to HEAD, or a 204/304: nothing to read, whatever
		// Content-Length says (for HEAD, the size of what GET would send).
		return []byte{}, nil
	}
	cl := hresp.ContentLength
	if cl > limit {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrBodyTooLarge, cl, limit)
	}
	size := int64(512)
	if cl >= 0 {
		size = cl + 1 // room to see EOF without growing
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow
		}
		n, err := hresp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (c *Client) record(status int, err error, d time.Duration) {
	i := 5
	if err == nil && status >= 100 && status < 600 {
		i = status/100 - 1
	}
	c.classes[i].Add(1)
	c.latency.observe(d)
}
