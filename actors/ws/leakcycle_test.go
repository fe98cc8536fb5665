package ws

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// Thousands of connect/disconnect cycles leave no goroutine behind: each
// cycle spawns a connection actor, waits for it to open, exchanges one
// message and closes it; then one connection is dropped by the server and
// redials hundreds of times.
func TestNoGoroutineLeakAfterCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	// Bounded, but generous: the machine is shared and -race is slow.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	sys := actortest.NewSystem(t)
	srv := startServer(t)
	baseline := goleak.IgnoreCurrent()

	const cycles = 2000
	for i := range cycles {
		rec := newRecorder()
		cfg := fastConfig(srv.url())
		cfg.Handler = rec
		c, err := New(fmt.Sprint("cycle-", i), cfg, Env{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Spawn(sys.Root); err != nil {
			t.Fatal(err)
		}
		rec.expect(t, ctx, "connected")
		if err := c.SendText(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		rec.expect(t, ctx, "message", "x")
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		rec.expect(t, ctx, "disconnected")
		<-srv.recv
		<-srv.accepted
	}

	t.Logf("%d connect/close cycles in %v", cycles, time.Since(start))
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = rec
	c, err := New("redialler", cfg, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Spawn(sys.Root); err != nil {
		t.Fatal(err)
	}
	const drops = 300
	for range drops {
		rec.expect(t, ctx, "connected")
		srv.waitAccepted(ctx) // the server has registered it: dropAll sees it
		srv.dropAll()
		rec.expect(t, ctx, "disconnected")
	}
	rec.expect(t, ctx, "connected")
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Connects != drops+1 {
		t.Fatalf("connects = %d, want %d", st.Connects, drops+1)
	}
	goleak.VerifyNone(t, baseline)
}
