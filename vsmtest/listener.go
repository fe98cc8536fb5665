package vsmtest

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
)

// restartableListener stays the same net.Listener for http.Server across
// Kill and Restart while the real socket underneath is closed and opened
// again on the same address (grpc-go testutils/restartable_listener.go
// keeps connections alive the same way). It tracks the connections it
// accepted so Kill can reset them.
type restartableListener struct {
	addr net.Addr

	mu     sync.Mutex
	ln     net.Listener  // nil while killed
	up     chan struct{} // closed when a killed listener is restarted
	conns  map[*trackedConn]struct{}
	closed bool
	done   chan struct{}
}

func newRestartableListener(ln net.Listener) *restartableListener {
	return &restartableListener{
		addr:  ln.Addr(),
		ln:    ln,
		up:    make(chan struct{}),
		conns: make(map[*trackedConn]struct{}),
		done:  make(chan struct{}),
	}
}

func (l *restartableListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, net.ErrClosed
		}
		ln, up := l.ln, l.up
		l.mu.Unlock()
		if ln == nil {
			select {
			case <-up:
				continue
			case <-l.done:
				return nil, net.ErrClosed
			}
		}
		c, err := ln.Accept()
		l.mu.Lock()
		stale := l.closed || l.ln != ln
		if err != nil {
			l.mu.Unlock()
			if stale {
				continue // killed or closed under us: the loop decides
			}
			return nil, err
		}
		if stale {
			l.mu.Unlock()
			reset(c)
			continue
		}
		tc := &trackedConn{Conn: c, l: l}
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

func (l *restartableListener) Addr() net.Addr { return l.addr }

// Close stops accepting for good and resets every open connection.
func (l *restartableListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	ln, conns := l.takeLocked()
	l.mu.Unlock()
	return l.shut(ln, conns)
}

// kill closes the socket (new connections are refused) and resets every
// open connection; Accept waits for restart.
func (l *restartableListener) kill() error {
	l.mu.Lock()
	if l.closed || l.ln == nil {
		l.mu.Unlock()
		return nil
	}
	ln, conns := l.takeLocked()
	l.up = make(chan struct{})
	l.mu.Unlock()
	return l.shut(ln, conns)
}

func (l *restartableListener) restart() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("vsmtest: service closed")
	}
	if l.ln != nil {
		return nil
	}
	ln, err := net.Listen(l.addr.Network(), l.addr.String())
	if err != nil {
		return err
	}
	l.ln = ln
	close(l.up)
	return nil
}

func (l *restartableListener) takeLocked() (net.Listener, []*trackedConn) {
	ln := l.ln
	l.ln = nil
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	clear(l.conns)
	return ln, conns
}

func (l *restartableListener) shut(ln net.Listener, conns []*trackedConn) error {
	var err error
	if ln != nil {
		err = ln.Close()
	}
	for _, c := range conns {
		reset(c.Conn)
	}
	return err
}

type trackedConn struct {
	net.Conn
	l *restartableListener
}

func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// reset closes c with a TCP RST rather than an orderly FIN, so the peer
// sees "connection reset by peer".
func reset(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn() // no close_notify: drop the socket under TLS
	}
	if t, ok := c.(*trackedConn); ok {
		t.l.mu.Lock()
		delete(t.l.conns, t)
		t.l.mu.Unlock()
		c = t.Conn
	}
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = c.Close()
}
