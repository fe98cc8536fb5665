package redisstore

import (
	"context"
	"net"
	"sync"
	"syscall"
)

// conns dials go-redis's connections, exactly as go-redis's own dialer
// would (goredis.NewDialer: same timeout, keep-alive and TLS), and keeps
// them so that Close can close every one at once. go-redis's Close first
// waits for its auto-pipeliner to flush, and a batch stuck on a hung
// server would hold that wait for the read timeout per batch; closing the
// sockets under it fails the batch at once.
type conns struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu     sync.Mutex
	closed bool
	open   map[*trackedConn]struct{}
}

func newConns(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *conns {
	return &conns{dial: dial, open: make(map[*trackedConn]struct{})}
}

// Dial is the go-redis Dialer.
func (cs *conns) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := cs.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	t := &trackedConn{Conn: c, cs: cs}
	cs.mu.Lock()
	if cs.closed {
		cs.mu.Unlock()
		_ = c.Close()
		return nil, net.ErrClosed
	}
	cs.open[t] = struct{}{}
	cs.mu.Unlock()
	if _, ok := c.(syscall.Conn); ok {
		// go-redis checks an idle connection's health through its file
		// descriptor; keep that possible (a TLS connection has none).
		return trackedSysConn{t}, nil
	}
	return t, nil
}

// closeAll closes every connection and refuses new ones.
func (cs *conns) closeAll() {
	cs.mu.Lock()
	cs.closed = true
	open := cs.open
	cs.open = nil
	cs.mu.Unlock()
	for t := range open {
		_ = t.Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	cs *conns
}

func (t *trackedConn) Close() error {
	t.cs.mu.Lock()
	delete(t.cs.open, t)
	t.cs.mu.Unlock()
	return t.Conn.Close()
}

type trackedSysConn struct{ *trackedConn }

func (t trackedSysConn) SyscallConn() (syscall.RawConn, error) {
	return t.Conn.(syscall.Conn).SyscallConn()
}
