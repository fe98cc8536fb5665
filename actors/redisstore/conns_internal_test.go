package redisstore

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
)

// The tracked dialer forgets a connection closed by go-redis, closes the
// rest on closeAll and refuses to dial afterwards; a TCP connection keeps
// its file descriptor visible for go-redis's idle health check.
func TestConnsTracksAndClosesAll(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for range 2 {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var d net.Dialer
	cs := newConns(d.DialContext)
	ctx := context.Background()
	a, err := cs.Dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.(syscall.Conn); !ok {
		t.Error("a tracked TCP connection hides its syscall.Conn")
	}
	b, err := cs.Dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		defer (<-accepted).Close()
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(cs.open); n != 1 {
		t.Fatalf("%d connections tracked after one of two closed; want 1", n)
	}
	cs.closeAll()
	if _, err := b.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after closeAll = %v; want net.ErrClosed", err)
	}
	if _, err := cs.Dial(ctx, "tcp", l.Addr().String()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Dial after closeAll = %v; want net.ErrClosed", err)
	}
	_ = b.Close() // go-redis closes it again: harmless
}
