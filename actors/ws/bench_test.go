package ws

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// BenchmarkWSRoundTrip: one message out and its echo back, on one
// connection to the same loopback gorilla echo server: bare gorilla
// (WriteMessage then ReadMessage on the caller's goroutine) against a
// Conn (Send, which on an idle open connection writes on the caller's
// goroutine under the write token, and the echo through the reader
// goroutine and the Handler, which hands it to the caller: the one
// goroutine hand-off left). bare-reader is bare gorilla with a reader
// goroutine handing each message to the caller, as a client that answers
// pings must read. vsm-writer-only is a Conn with WriterOnly:
// every Send handed to the writer goroutine. Goal: vsm ≥ 0.9 × bare.
func BenchmarkWSRoundTrip(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"16B", 16}, {"1KiB", 1024}} {
		payload := make([]byte, size.n)
		b.Run("bare/"+size.name, func(b *testing.B) {
			srv := startServer(b)
			srv.quiet = true
			ws, _, err := websocket.DefaultDialer.Dial(srv.url(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer ws.Close()
			b.SetBytes(int64(size.n))
			b.ResetTimer()
			for range b.N {
				if err := ws.WriteMessage(websocket.BinaryMessage, payload); err != nil {
					b.Fatal(err)
				}
				if _, _, err := ws.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("bare-reader/"+size.name, func(b *testing.B) {
			// The shape of a gorilla client that answers pings: a goroutine
			// reads (control frames are only handled while reading) and
			// hands each message over; the caller writes.
			srv := startServer(b)
			srv.quiet = true
			ws, _, err := websocket.DefaultDialer.Dial(srv.url(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer ws.Close()
			echoed := make(chan struct{}, 1)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					if _, _, err := ws.ReadMessage(); err != nil {
						return
					}
					echoed <- struct{}{}
				}
			}()
			defer func() { _ = ws.Close(); <-done }()
			b.SetBytes(int64(size.n))
			b.ResetTimer()
			for range b.N {
				if err := ws.WriteMessage(websocket.BinaryMessage, payload); err != nil {
					b.Fatal(err)
				}
				<-echoed
			}
		})
		for _, v := range []struct {
			name       string
			writerOnly bool
		}{{"vsm", false}, {"vsm-writer-only", true}} {
			b.Run(v.name+"/"+size.name, func(b *testing.B) {
				srv := startServer(b)
				srv.quiet = true
				echoed := make(chan struct{}, 1)
				up := make(chan struct{}, 1)
				cfg := Config{Endpoints: []string{srv.url()}, WriterOnly: v.writerOnly, Handler: HandlerFuncs{
					OnConnected: func(*Conn, string) { up <- struct{}{} },
					OnMessage:   func(*Conn, Message) { echoed <- struct{}{} },
				}}
				c := spawn(b, nil, "bench", cfg, Env{})
				<-up
				ctx := context.Background()
				b.SetBytes(int64(size.n))
				b.ResetTimer()
				for range b.N {
					if err := c.SendBinary(ctx, payload); err != nil {
						b.Fatal(err)
					}
					<-echoed
				}
			})
		}
	}
}

// BenchmarkWSIdleConnMemory opens b.N idle connections to a loopback
// server and reports the memory each costs (heap in use + goroutine
// stacks, after a GC) as B/conn. The figure includes the server's side of
// each connection, which is the same in both: vsm − bare is what the
// actor and its writer goroutine add to a bare gorilla client with its
// reader goroutine (bare holds gorilla's 4 KiB write buffer, which a
// Conn takes from a pool per message; an empty send queue holds none).
func BenchmarkWSIdleConnMemory(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		srv := startServer(b)
		srv.quiet = true
		before := memNow()
		conns := make([]*websocket.Conn, 0, b.N)
		done := make(chan struct{}, b.N)
		for range b.N {
			ws, _, err := websocket.DefaultDialer.Dial(srv.url(), nil)
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, ws)
			go func() {
				defer func() { done <- struct{}{} }()
				for {
					if _, _, err := ws.ReadMessage(); err != nil {
						return
					}
				}
			}()
		}
		b.ReportMetric(float64(memNow()-before)/float64(b.N), "B/conn")
		b.StopTimer()
		for _, ws := range conns {
			_ = ws.Close()
		}
		for range conns {
			<-done
		}
	})
	b.Run("vsm", func(b *testing.B) {
		sys := actortest.NewSystem(b)
		srv := startServer(b)
		srv.quiet = true
		up := make(chan struct{}, b.N)
		cfg := Config{Endpoints: []string{srv.url()}, Handler: HandlerFuncs{
			OnConnected: func(*Conn, string) { up <- struct{}{} },
		}}
		before := memNow()
		conns := make([]*Conn, 0, b.N)
		for range b.N {
			c, err := New("idle", cfg, Env{})
			if err != nil {
				b.Fatal(err)
			}
			sys.Root.Spawn(c.Props())
			conns = append(conns, c)
			<-up
		}
		b.ReportMetric(float64(memNow()-before)/float64(b.N), "B/conn")
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, c := range conns {
			if pid := c.PID(); pid != nil {
				sys.Root.Stop(pid)
			}
			if err := c.Close(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func memNow() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
