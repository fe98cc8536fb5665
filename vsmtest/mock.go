package vsmtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Option configures a MockService.
type Option interface{ apply(*config) }

type config struct {
	addr    string
	tls     bool
	history int
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTLS serves HTTPS with a throwaway self-signed certificate for
// 127.0.0.1, ::1 and localhost; CAPEM returns it and Client trusts it.
func WithTLS() Option { return optionFunc(func(c *config) { c.tls = true }) }

// WithAddr listens on addr instead of "127.0.0.1:0" (for example
// "[::1]:0"). Keep it on a loopback address.
func WithAddr(addr string) Option { return optionFunc(func(c *config) { c.addr = addr }) }

// WithHistory keeps the last n requests (default 100) for History.
func WithHistory(n int) Option { return optionFunc(func(c *config) { c.history = n }) }

// Response is a programmed reply. A zero Status means 200.
type Response struct {
	Status int
	Body   string
	Header http.Header
}

// Request is a recorded request. Bodies are kept up to 1 MiB.
type Request struct {
	Method     string
	Path       string
	RawQuery   string
	Header     http.Header
	Body       []byte
	RemoteAddr string
	At         time.Time
}

const maxRecordedBody = 1 << 20

// route is a programmed reply or a custom handler.
type route struct {
	resp Response
	h    http.Handler
}

type action int

const (
	actRespond action = iota
	actFail
	actReset
	actResetBody
	actHang
)

// MockService is an HTTP service on a real loopback port whose behaviour
// is programmed while it runs. All methods are safe for concurrent use.
type MockService struct {
	url, addr string
	caPEM     []byte
	client    *http.Client
	transport *http.Transport
	ln        *restartableListener
	srv       *http.Server
	serveDone chan struct{}
	done      chan struct{} // closed by Close: releases waiting handlers
	history   int
	closeOnce sync.Once

	mu            sync.Mutex
	closed        bool
	handlers      sync.WaitGroup // running handlers; Add only while !closed
	def           Response
	routes        map[string]route
	latency       time.Duration
	failNext      int
	failResp      Response
	resetNext     int
	resetBodyNext int
	hang          bool
	oversize      int64
	count         int
	log           []Request
	arrived       chan struct{} // closed and replaced at every request
}

// StartMockService starts a mock service; the caller must Close it. Tests
// use NewMockService instead.
func StartMockService(opts ...Option) (*MockService, error) {
	cfg := config{addr: "127.0.0.1:0", history: 100}
	for _, o := range opts {
		o.apply(&cfg)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("vsmtest: listen: %w", err)
	}
	m := &MockService{
		addr:      ln.Addr().String(),
		ln:        newRestartableListener(ln),
		serveDone: make(chan struct{}),
		done:      make(chan struct{}),
		history:   cfg.history,
		def:       Response{Status: http.StatusOK, Body: "ok"},
		routes:    make(map[string]route),
		arrived:   make(chan struct{}),
	}
	m.srv = &http.Server{
		Handler:           m,
		ReadHeaderTimeout: 10 * time.Second,
		// Resets and kills make the server log; tests read outcomes from
		// the client side.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	m.transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	var serveLn net.Listener = m.ln
	scheme := "http"
	if cfg.tls {
		cert, caPEM, err := selfSigned()
		if err != nil {
			_ = m.ln.Close()
			return nil, fmt.Errorf("vsmtest: certificate: %w", err)
		}
		m.caPEM = caPEM
		// HTTP/1.1 only: ResetNext needs to hijack the connection.
		m.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
		m.srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		serveLn = tls.NewListener(m.ln, m.srv.TLSConfig)
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(caPEM)
		m.transport.TLSClientConfig = &tls.Config{RootCAs: roots}
		scheme = "https"
	}
	m.url = scheme + "://" + m.addr
	m.client = &http.Client{Transport: m.transport}
	go func() {
		defer close(m.serveDone)
		_ = m.srv.Serve(serveLn) // returns ErrServerClosed on Close
	}()
	return m, nil
}

// NewMockService starts a mock service for t and closes it in t.Cleanup.
func NewMockService(t testing.TB, opts ...Option) *MockService {
	t.Helper()
	m, err := StartMockService(opts...)
	if err != nil {
		t.Fatalf("vsmtest: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// WithMockService runs fn with a fresh mock service and closes it when fn
// returns (the seed's with_mock_service).
func WithMockService(t testing.TB, fn func(*MockService), opts ...Option) {
	t.Helper()
	m := NewMockService(t, opts...)
	defer m.Close()
	fn(m)
}

// RefusedAddr returns a loopback host:port that refuses connections: a
// listener was opened there and closed. Another process could take the
// port later, but the kernel hands out ephemeral ports in turn, so within
// a test it stays refused.
func RefusedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("vsmtest: listen: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("vsmtest: close: %v", err)
	}
	return addr
}

// URL is the base URL, "http://127.0.0.1:port" (https with WithTLS).
func (m *MockService) URL() string { return m.url }

// Addr is the host:port the service listens on; it survives Kill/Restart.
func (m *MockService) Addr() string { return m.addr }

// CAPEM is the PEM certificate to trust with WithTLS, else nil.
func (m *MockService) CAPEM() []byte { return m.caPEM }

// Client returns an HTTP client for this service (trusting its
// certificate with WithTLS). Close closes its idle connections.
func (m *MockService) Client() *http.Client { return m.client }

// Respond sets the reply to requests that match no route.
func (m *MockService) Respond(status int, body string, header http.Header) {
	m.mu.Lock()
	m.def = Response{Status: status, Body: body, Header: header.Clone()}
	m.mu.Unlock()
}

// RespondTo sets the reply for a route: "METHOD /path" or "/path" for any
// method. The query string is not part of the match.
func (m *MockService) RespondTo(pattern string, status int, body string, header http.Header) {
	m.mu.Lock()
	m.routes[pattern] = route{resp: Response{Status: status, Body: body, Header: header.Clone()}}
	m.mu.Unlock()
}

// RespondJSON sets a JSON reply for a route, or the default reply when
// pattern is "".
func (m *MockService) RespondJSON(pattern string, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if pattern == "" {
		m.Respond(status, string(b), h)
	} else {
		m.RespondTo(pattern, status, string(b), h)
	}
	return nil
}

// Handle serves a route with a custom handler. Faults (FailNext, Hang,
// ...) still apply before it. The handler must return when its request's
// context ends: Close waits for every handler.
func (m *MockService) Handle(pattern string, h http.Handler) {
	m.mu.Lock()
	m.routes[pattern] = route{h: h}
	m.mu.Unlock()
}

// Latency delays every reply (not resets or hangs) by d; 0 turns it off.
func (m *MockService) Latency(d time.Duration) {
	m.mu.Lock()
	m.latency = d
	m.mu.Unlock()
}

// FailNext makes the next n requests get status with a short body.
func (m *MockService) FailNext(n, status int) {
	m.FailNextWith(n, Response{Status: status, Body: "vsmtest: injected failure"})
}

// FailNextWith makes the next n requests get r (for example a 503 with a
// Retry-After header).
func (m *MockService) FailNextWith(n int, r Response) {
	r.Header = r.Header.Clone()
	m.mu.Lock()
	m.failNext, m.failResp = n, r
	m.mu.Unlock()
}

// ResetNext makes the next n requests see their connection reset after a
// partial status line and header: the client gets an error, never a
// response.
func (m *MockService) ResetNext(n int) {
	m.mu.Lock()
	m.resetNext = n
	m.mu.Unlock()
}

// ResetBodyNext makes the next n requests get a full header announcing a
// 1 KiB body, 100 bytes of it, then a reset: the error comes while the
// client reads the body.
func (m *MockService) ResetBodyNext(n int) {
	m.mu.Lock()
	m.resetBodyNext = n
	m.mu.Unlock()
}

// Hang makes every request block until the client gives up or the service
// is killed or closed. Heal stops new requests from hanging; those already
// hanging wait for their client or the service.
func (m *MockService) Hang() {
	m.mu.Lock()
	m.hang = true
	m.mu.Unlock()
}

// OversizeBody makes replies carry n bytes of body, streamed in chunks
// without a Content-Length; 0 turns it off.
func (m *MockService) OversizeBody(n int64) {
	m.mu.Lock()
	m.oversize = n
	m.mu.Unlock()
}

// Heal ends every fault: latency, pending failures and resets, hanging,
// oversize bodies. Programmed replies and routes stay.
func (m *MockService) Heal() {
	m.mu.Lock()
	m.latency, m.failNext, m.resetNext, m.resetBodyNext, m.hang, m.oversize = 0, 0, 0, 0, false, 0
	m.mu.Unlock()
}

// Kill closes the listening socket (connections are refused) and resets
// every open connection; requests in flight see their connection die.
func (m *MockService) Kill() error { return m.ln.kill() }

// Restart listens again on the same address after Kill.
func (m *MockService) Restart() error { return m.ln.restart() }

// Requests is the number of requests received, faulted ones included.
func (m *MockService) Requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.count
}

// History returns the last recorded requests, oldest first.
func (m *MockService) History() []Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Request(nil), m.log...)
}

// LastRequest returns the most recent request.
func (m *MockService) LastRequest() (Request, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.log) == 0 {
		return Request{}, false
	}
	return m.log[len(m.log)-1], true
}

// WaitRequests blocks until at least n requests have arrived (counting
// from the start) or ctx ends.
func (m *MockService) WaitRequests(ctx context.Context, n int) error {
	for {
		m.mu.Lock()
		if m.count >= n {
			m.mu.Unlock()
			return nil
		}
		ch := m.arrived
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("vsmtest: waiting for %d requests: %w", n, ctx.Err())
		}
	}
}

// Close stops the service, releases hanging requests, waits for every
// handler to return and closes the Client's idle connections. It may be
// called more than once.
func (m *MockService) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		// Connections first, so a released handler cannot answer.
		_ = m.srv.Close()
		close(m.done)
		<-m.serveDone
		m.handlers.Wait()
		m.transport.CloseIdleConnections()
	})
	return nil
}

// ServeHTTP records the request and replies as programmed.
func (m *MockService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRecordedBody))
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.handlers.Add(1)
	defer m.handlers.Done()
	m.count++
	if m.history > 0 {
		if len(m.log) >= m.history {
			m.log = append(m.log[:0], m.log[len(m.log)-m.history+1:]...)
		}
		m.log = append(m.log, Request{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: body, RemoteAddr: r.RemoteAddr, At: time.Now(),
		})
	}
	close(m.arrived)
	m.arrived = make(chan struct{})

	act := actRespond
	switch {
	case m.resetNext > 0:
		m.resetNext--
		act = actReset
	case m.resetBodyNext > 0:
		m.resetBodyNext--
		act = actResetBody
	case m.failNext > 0:
		m.failNext--
		act = actFail
	case m.hang:
		act = actHang
	}
	fail, latency, oversize := m.failResp, m.latency, m.oversize
	rt, ok := m.routes[r.Method+" "+r.URL.Path]
	if !ok {
		rt, ok = m.routes[r.URL.Path]
	}
	if !ok {
		rt = route{resp: m.def}
	}
	m.mu.Unlock()

	switch act {
	case actReset:
		m.reset(w, "HTTP/1.1 200 OK\r\nContent-Type: text/pl")
		return
	case actResetBody:
		m.reset(w, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1024\r\n\r\n"+strings.Repeat("x", 100))
		return
	case actHang:
		select {
		case <-r.Context().Done():
		case <-m.done:
		}
		return
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-m.done:
			t.Stop()
			return
		}
	}
	switch {
	case act == actFail:
		write(w, fail)
	case oversize > 0:
		streamBody(w, oversize)
	case rt.h != nil:
		rt.h.ServeHTTP(w, r)
	default:
		write(w, rt.resp)
	}
}

func write(w http.ResponseWriter, r Response) {
	for k, vs := range r.Header {
		w.Header()[k] = append([]string(nil), vs...)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, r.Body)
}

// streamBody writes n bytes with the header flushed first, so the reply is
// chunked and carries no Content-Length.
func streamBody(w http.ResponseWriter, n int64) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	chunk := []byte(strings.Repeat("x", 32<<10))
	for n > 0 {
		c := chunk[:min(n, int64(len(chunk)))]
		if _, err := w.Write(c); err != nil {
			return // the client went away
		}
		n -= int64(len(c))
	}
}

// reset hijacks the connection, writes a partial reply and drops the
// connection with an RST.
func (m *MockService) reset(w http.ResponseWriter, partial string) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("vsmtest: connection cannot be hijacked")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	_, _ = buf.WriteString(partial)
	_ = buf.Flush()
	// An RST discards what is still queued for sending; on loopback a
	// completed write of a few bytes has already reached the peer.
	reset(conn)
}
