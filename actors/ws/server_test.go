package ws

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testServer is a gorilla WebSocket server on 127.0.0.1 for fault tests:
// it echoes (or broadcasts, in chat mode), records what it receives, and
// can drop every connection abruptly, stop answering pings, stop and
// restart on the same port.
type testServer struct {
	t    testing.TB
	addr string
	chat bool
	// quiet: record nothing (benchmarks, where recv would fill up).
	quiet bool

	noPong atomic.Bool
	// noCloseReply makes the server ignore our close frame (it neither
	// answers nor closes), to prove the close wait is bounded.
	noCloseReply atomic.Bool
	// stall makes each connection stop reading (so stop answering pings,
	// and let TCP back up) after its next message, until the server stops.
	stall   atomic.Bool
	stopped chan struct{}

	recv     chan srvMsg      // every data message received
	accepted chan http.Header // the handshake headers of each connection
	closes   chan int         // the close code of each close frame received

	mu    sync.Mutex
	ln    net.Listener
	srv   *http.Server
	conns map[*srvConn]struct{}
	wg    sync.WaitGroup
	tls   func(net.Listener) net.Listener
}

type srvMsg struct {
	typ  int
	data string
}

type srvConn struct {
	ws *websocket.Conn
	mu sync.Mutex // one writer per server connection too
}

func (c *srvConn) write(typ int, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(typ, data)
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	s := newServer(t)
	s.listen("127.0.0.1:0")
	t.Cleanup(s.Stop)
	return s
}

func newServer(t testing.TB) *testServer {
	return &testServer{
		t:        t,
		recv:     make(chan srvMsg, 1<<16),
		accepted: make(chan http.Header, 1<<12),
		closes:   make(chan int, 1<<12),
		conns:    map[*srvConn]struct{}{},
		stopped:  make(chan struct{}),
	}
}

func (s *testServer) url() string { return "ws://" + s.addr + "/" }

func (s *testServer) listen(addr string) {
	s.t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatalf("listen %s: %v", addr, err)
	}
	if s.tls != nil {
		ln = s.tls(ln)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.ln, s.srv, s.addr = ln, srv, ln.Addr().String()
	select {
	case <-s.stopped:
		s.stopped = make(chan struct{})
	default:
	}
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = srv.Serve(ln)
	}()
}

var upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}

func (s *testServer) handle(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &srvConn{ws: ws}
	s.mu.Lock()
	if s.srv == nil { // stopping
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.conns[c] = struct{}{}
	stopped := s.stopped
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = ws.Close()
	}()
	h := r.Header.Clone()
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		h.Set("X-Client-CN", r.TLS.PeerCertificates[0].Subject.CommonName)
	}
	if !s.quiet {
		s.accepted <- h
	}
	ws.SetPingHandler(func(data string) error {
		if s.noPong.Load() {
			return nil
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	ws.SetCloseHandler(func(code int, _ string) error {
		s.closes <- code
		if s.noCloseReply.Load() {
			return nil
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
	})
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && s.noCloseReply.Load() {
				// Hold the socket open, silent, until the client gives up
				// and closes it (or the server stops).
				_, _ = io.Copy(io.Discard, ws.NetConn())
			}
			return
		}
		if !s.quiet {
			s.recv <- srvMsg{typ: typ, data: string(data)}
		}
		if s.stall.Load() {
			<-stopped
			return
		}
		if s.chat {
			s.broadcast(typ, data)
		} else if err := c.write(typ, data); err != nil {
			return
		}
	}
}

func (s *testServer) snapshot() []*srvConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*srvConn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

func (s *testServer) broadcast(typ int, data []byte) {
	for _, c := range s.snapshot() {
		_ = c.write(typ, data)
	}
}

// push writes one message to every client.
func (s *testServer) push(typ int, data []byte) { s.broadcast(typ, data) }

// dropAll closes every TCP connection without a close frame; the server
// keeps listening.
func (s *testServer) dropAll() {
	for _, c := range s.snapshot() {
		_ = c.ws.NetConn().Close()
	}
}

// Stop closes the listener and every connection abruptly and waits for the
// server's goroutines. Idempotent.
func (s *testServer) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	if srv != nil {
		close(s.stopped)
	}
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	s.dropAll()
	s.wg.Wait()
}

// Restart listens again on the same address.
func (s *testServer) Restart() { s.listen(s.addr) }

// next waits for the next message the server received.
func (s *testServer) next(ctx context.Context) srvMsg {
	s.t.Helper()
	select {
	case m := <-s.recv:
		return m
	case <-ctx.Done():
		s.t.Fatalf("server: no message: %v", ctx.Err())
		return srvMsg{}
	}
}

func (s *testServer) waitAccepted(ctx context.Context) http.Header {
	s.t.Helper()
	select {
	case h := <-s.accepted:
		return h
	case <-ctx.Done():
		s.t.Fatalf("server: no connection: %v", ctx.Err())
		return nil
	}
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
