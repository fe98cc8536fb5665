package vsm_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// stopWithin runs n.Stop(ctx) and fails the test if it has not returned
// within limit: a hang is the failure being tested for.
func stopWithin(t *testing.T, n *vsm.Node, ctx context.Context, limit time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- n.Stop(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("Stop did not return within %v", limit)
		return nil
	}
}

// An actor stuck in Receive and a subscriber stuck in its function cannot
// hold Stop past its deadline, and the error names both.
func TestStopReturnsByDeadlineAndNamesWhatIsStillRunning(t *testing.T) {
	n, err := vsm.Start(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	inReceive := make(chan struct{})
	_, err = n.Spawn(context.Background(), "stuck", actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(string); ok {
			close(inReceive)
			<-release
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := n.Lookup("user/stuck")
	n.Root().Send(pid, "block")
	<-inReceive

	inSub := make(chan struct{})
	sub := n.Subscription(func(ev vsm.Event) {
		if _, ok := ev.(*event.AlertRaised); ok {
			close(inSub)
			<-release
		}
	}, event.WithFilter(func(ev vsm.Event) bool { _, ok := ev.(*event.AlertRaised); return ok }))
	if err := n.Raise(algedonic.Warning, "test", "block the subscriber"); err != nil {
		t.Fatal(err)
	}
	<-inSub

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = stopWithin(t, n, ctx, 10*time.Second)
	var se *vsm.StopError
	if !errors.As(err, &se) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want a *StopError matching DeadlineExceeded", err)
	}
	if !slices.Contains(se.Actors, "user/stuck") || se.Subscribers != 1 {
		t.Fatalf("StopError = %+v, want user/stuck among the actors and 1 subscriber", se)
	}
	if again := n.Stop(context.Background()); again != err {
		t.Fatalf("second Stop = %v, want the first result", again)
	}
	close(release)
	sub.Wait()
	poll(t, func() bool { _, ok := n.Lookup("user/stuck"); return !ok })
}

// A panicking subscriber loses its event; the node and other subscribers
// carry on. Before containment the panic took the process down.
func TestPanickingSubscriberIsContained(t *testing.T) {
	n := startNode(t, nil)
	n.Subscribe(func(ev vsm.Event) {
		if _, ok := ev.(*event.AlertRaised); ok {
			panic("subscriber bug")
		}
	})
	got := collect[*event.AlertRaised](t, n)
	for range 3 {
		if err := n.Raise(algedonic.Info, "test", "x"); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		recv(t, got)
	}
	poll(t, func() bool { return n.SubscriberPanics() == 3 })
}

// ErrStopped means Stop was called; a pool whose actor is gone while the
// node runs gets ErrNotFound instead.
func TestErrStoppedOnlyAfterStop(t *testing.T) {
	n := startNode(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := n.AddPool(ctx, httppool.Config{Name: "extra", Endpoints: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := n.Lookup(vsm.S1)
	if err := supervisor.Stop(ctx, n.Root(), s1, vsm.PoolPrefix+"extra"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Resize(ctx, 4); !errors.Is(err, vsm.ErrNotFound) || errors.Is(err, vsm.ErrStopped) {
		t.Fatalf("Resize with the actor gone: %v, want ErrNotFound", err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Resize(ctx, 4); !errors.Is(err, vsm.ErrStopped) {
		t.Fatalf("Resize after Stop: %v, want ErrStopped", err)
	}
	if _, err := n.AddPool(ctx, httppool.Config{Name: "late", Endpoints: []string{"127.0.0.1:1"}}); !errors.Is(err, vsm.ErrStopped) {
		t.Fatalf("AddPool after Stop: %v, want ErrStopped", err)
	}
}

// When failures climb past the root's restart intensity the root gives up
// with an Emergency alert, the whole tree stops and Done is closed; Stop
// afterwards has nothing left to do and succeeds.
func TestDoneWhenTheRootGivesUp(t *testing.T) {
	cfg := config.Default()
	cfg.Supervision.MaxRestarts = 1
	cfg.Supervision.Window = config.Duration(time.Minute)
	n := startNode(t, cfg)
	alerts := collect[*event.AlertRaised](t, n)
	var starts atomic.Int64
	out := make(chan int, 64)
	if _, err := n.Spawn(context.Background(), "flaky", actor.PropsFromProducer(func() actor.Actor { return &counter{starts: &starts, out: out} })); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.Done():
		t.Fatal("Done before any failure")
	default:
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
	for done := false; !done; {
		select {
		case <-n.Done():
			done = true
		case <-tick.C:
			if pid, ok := n.Lookup("user/flaky"); ok {
				n.Root().Send(pid, &boom{})
			}
		case <-deadline:
			t.Fatal("the root never gave up")
		}
	}
	for {
		a := recv(t, alerts)
		if a.Severity == "emergency" {
			break
		}
	}
	if _, ok := n.Lookup(vsm.S1); ok {
		t.Fatal("s1 still registered after the root gave up")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		t.Fatalf("Stop after the root gave up: %v", err)
	}
}
