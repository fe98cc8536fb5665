package grpcpool

import (
	"context"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// Thousands of connect/call/close cycles, half of them with an actor that
// is spawned and stopped, must leave no goroutine behind (TestMain's
// goleak check runs after every test) and no transport unaccounted.
func TestConnectDisconnectCyclesLeakNothing(t *testing.T) {
	cycles := 2000
	if testing.Short() {
		cycles = 200
	}
	ts := (&testServer{}).start(t, "")
	sys := actortest.NewSystem(t)
	for i := range cycles {
		ch, err := New(Config{Endpoints: []string{ts.addr}})
		if err != nil {
			t.Fatal(err)
		}
		var stop func()
		if i%2 == 1 {
			pid := sys.Root.Spawn(Props(ch, Env{}))
			stop = func() { _ = sys.Root.StopFuture(pid).Wait() }
		}
		// Each call gets its own bound: under load and -race the whole loop
		// takes longer than one call may.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = testpb.NewTestClient(ch).Unary(ctx, &testpb.Request{})
		cancel()
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		if stop != nil {
			stop()
		}
		if err := ch.Close(); err != nil {
			t.Fatal(err)
		}
		if err := ch.Close(); err != nil { // idempotent
			t.Fatal(err)
		}
	}
	if got := ts.calls.Load(); got != int64(cycles) {
		t.Fatalf("server saw %d calls, want %d", got, cycles)
	}
}
