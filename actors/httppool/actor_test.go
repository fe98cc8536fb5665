package httppool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/balancer"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/vsmtest"
)

// eventsOf collects the pool events published on sys's stream.
func eventsOf(t *testing.T, sys *actor.ActorSystem) <-chan event.Event {
	ch := make(chan event.Event, 4096)
	sub := sys.EventStream.Subscribe(func(m any) {
		switch ev := m.(type) {
		case *event.PoolResized, *event.EndpointEjected, *event.EndpointRestored, *event.PoolCheckout, *event.AdapterRequest:
			select {
			case ch <- ev.(event.Event):
			default:
			}
		}
	})
	t.Cleanup(func() { sys.EventStream.Unsubscribe(sub) })
	return ch
}

// await returns the next event of kind, skipping others.
func await(t *testing.T, ch <-chan event.Event, kind string) event.Event {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case ev := <-ch:
			if ev.Kind() == kind {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event", kind)
		}
	}
}

func TestActorRequestResizeStats(t *testing.T) {
	sys := actortest.NewSystem(t)
	evs := eventsOf(t, sys)
	svc := vsmtest.NewMockService(t)
	svc.Respond(200, "hi", nil)
	c := newClient(t, Config{Name: "api", Endpoints: []string{svc.Addr()}, Size: 3,
		Events: sys.EventStream, RequestEvents: true})
	pid := spawn(t, sys, Props(c, Env{Events: sys.EventStream}))
	ctx := bg(t)

	resp, err := Send(ctx, sys.Root, pid, &DoRequest{Method: "GET", URL: "/x"})
	if err != nil || string(resp.Body) != "hi" {
		t.Fatalf("%+v %v", resp, err)
	}
	// With RequestEvents on, a listener gets the per-attempt events.
	if ev := await(t, evs, "pool.checkout").(*event.PoolCheckout); ev.Pool != "api" {
		t.Fatalf("%+v", ev)
	}
	if ev := await(t, evs, "adapter.request").(*event.AdapterRequest); ev.Status != 200 || ev.Endpoint != svc.Addr() || ev.Method != "GET" || ev.Protocol != "http" {
		t.Fatalf("%+v", ev)
	}
	svc.FailNext(3, 500)
	if _, err := Send(ctx, sys.Root, pid, &DoRequest{URL: "/x"}); !errors.Is(err, ErrStatus) {
		t.Fatalf("failure: %v", err)
	}

	st, err := Resize(ctx, sys.Root, pid, 7)
	if err != nil || st.Size != 7 {
		t.Fatalf("resize %+v %v", st, err)
	}
	if ev := await(t, evs, "pool.resized").(*event.PoolResized); ev.From != 3 || ev.To != 7 || ev.Pool != "api" {
		t.Fatalf("%+v", ev)
	}
	if _, err := Resize(ctx, sys.Root, pid, 0); err == nil {
		t.Fatal("size 0 accepted")
	}
	st, err = PoolStats(ctx, sys.Root, pid)
	if err != nil || st.Size != 7 || st.Requests.Success != 1 || st.Requests.ServerError != 3 {
		t.Fatalf("stats %+v %v", st, err)
	}

	// A deadline in the message bounds the work.
	svc.Heal()
	svc.Hang()
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := Send(dctx, sys.Root, pid, &DoRequest{URL: "/x"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	svc.Heal()
}

func TestRestartKeepsState(t *testing.T) {
	sys := actortest.NewSystem(t)
	svc := vsmtest.NewMockService(t)
	mw, started := actortest.Crasher(4)
	c := newClient(t, Config{Name: "api", Endpoints: []string{svc.Addr()}, Size: 2})
	props := Props(c, Env{Events: sys.EventStream}).Configure(actor.WithReceiverMiddleware(mw))
	childPID := make(chan *actor.PID, 1)
	strategy := actor.NewOneForOneStrategy(10, time.Minute, func(any) actor.Directive { return actor.RestartDirective })
	spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); ok {
			childPID <- ctx.Spawn(props)
		}
	}, actor.WithSupervisor(strategy)))
	pid := <-childPID
	<-started
	ctx := bg(t)
	for i := 0; i < 3; i++ {
		if _, err := Send(ctx, sys.Root, pid, &DoRequest{URL: "/"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Resize(ctx, sys.Root, pid, 5); err != nil {
		t.Fatal(err)
	}
	before, _ := PoolStats(ctx, sys.Root, pid)

	sys.Root.Send(pid, &actortest.Crash{})
	select {
	case n := <-started:
		if n != 2 {
			t.Fatalf("start %d", n)
		}
	case <-time.After(waitFor):
		t.Fatal("not restarted")
	}
	after, err := PoolStats(ctx, sys.Root, pid)
	if err != nil || after.Size != 5 || after.Requests.Success != 3 || after.Checkouts != before.Checkouts {
		t.Fatalf("after restart %+v %v", after, err)
	}
	if _, err := Send(ctx, sys.Root, pid, &DoRequest{URL: "/"}); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// One of three endpoints dies: it is ejected, traffic carries on to the
// other two, and the actor's timer restores it after its ejection time;
// once it is back up it gets traffic again.
func TestDeadEndpointEjectedAndRestored(t *testing.T) {
	sys := actortest.NewSystem(t)
	evs := eventsOf(t, sys)
	svcs := []*vsmtest.MockService{vsmtest.NewMockService(t), vsmtest.NewMockService(t), vsmtest.NewMockService(t)}
	addrs := []string{svcs[0].Addr(), svcs[1].Addr(), svcs[2].Addr()}
	c := newClient(t, Config{Name: "api", Endpoints: addrs, Balancer: balancer.Config{
		ConsecutiveFailures: 2, BaseEjectionTime: 300 * time.Millisecond}})
	spawn(t, sys, Props(c, Env{Events: sys.EventStream}))
	ctx := bg(t)

	if err := svcs[1].Kill(); err != nil {
		t.Fatal(err)
	}
	var ejected *event.EndpointEjected
	for ejected == nil {
		resp, err := c.Do(ctx, Request{URL: "/"})
		if err != nil { // the retry goes to the next endpoint
			t.Fatalf("call failed: %v", err)
		}
		if resp.Endpoint == addrs[1] {
			t.Fatal("answered by the dead endpoint")
		}
		select {
		case ev := <-evs:
			if e, ok := ev.(*event.EndpointEjected); ok {
				ejected = e
			}
		default:
		}
	}
	if ejected.Endpoint != addrs[1] || ejected.Pool != "api" || ejected.For != 300*time.Millisecond {
		t.Fatalf("%+v", ejected)
	}
	before := c.Stats().Requests.Errors
	for i := 0; i < 20; i++ {
		resp, err := c.Do(ctx, Request{URL: "/"})
		if err != nil || resp.Attempts != 1 || resp.Endpoint == addrs[1] {
			t.Fatalf("while ejected: %+v %v", resp, err)
		}
	}
	if got := c.Stats().Requests.Errors; got != before {
		t.Fatalf("%d errors while ejected", got-before)
	}
	if err := svcs[1].Restart(); err != nil {
		t.Fatal(err)
	}
	// No traffic needed: the actor's timer announces the return.
	if ev := await(t, evs, "endpoint.restored").(*event.EndpointRestored); ev.Endpoint != addrs[1] {
		t.Fatalf("%+v", ev)
	}
	n := svcs[1].Requests()
	for i := 0; i < 6; i++ {
		if _, err := c.Do(ctx, Request{URL: "/"}); err != nil {
			t.Fatal(err)
		}
	}
	if svcs[1].Requests()-n != 2 {
		t.Fatalf("restored endpoint got %d of 6 round-robin requests", svcs[1].Requests()-n)
	}
}

func TestSendWithoutSenderIsDropped(t *testing.T) {
	sys := actortest.NewSystem(t)
	svc := vsmtest.NewMockService(t)
	c := newClient(t, Config{Endpoints: []string{svc.Addr()}})
	pid := spawn(t, sys, Props(c, Env{MaxRequests: 1}))
	sys.Root.Send(pid, &DoRequest{URL: "/"}) // nobody to reply to: not run
	if _, err := PoolStats(bg(t), sys.Root, pid); err != nil {
		t.Fatal(err)
	}
	if svc.Requests() != 0 {
		t.Fatal("ran a request nobody waits for")
	}
}

// The pool actor's mailbox runs on a stack grown in advance
// (internal/dispatch), as the breaker actor's does.
func TestMailboxRunsOnGrownStack(t *testing.T) {
	sys := actortest.NewSystem(t)
	c, err := New(Config{Name: "api", Endpoints: []string{"127.0.0.1:9"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	mw, moved := actortest.StackProber()
	pid := sys.Root.Spawn(Props(c, Env{}).Configure(actor.WithReceiverMiddleware(mw)))
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if st, err := PoolStats(ctx, sys.Root, pid); err != nil || st.Name != "api" {
		t.Fatalf("stats %+v, %v", st, err)
	}
	n, err := actortest.CountMoved(ctx, sys.Root, pid, moved, actortest.Probes)
	if err != nil || n > actortest.MaxMoved {
		t.Fatalf("the stack was grown during the handler in %d of %d probes (%v)", n, actortest.Probes, err)
	}
}
