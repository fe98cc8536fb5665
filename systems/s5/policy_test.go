package s5_test

import (
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/systems/s5"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestAlertsOvertakeOrdinaryMessages holds the policy actor inside one
// alert's reaction, queues ordinary messages and then alerts behind them,
// and checks that every alert is handled before any ordinary message.
func TestAlertsOvertakeOrdinaryMessages(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(10 * time.Millisecond))
	entered, gate := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var order []string
	record := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	stats := &s5.Stats{}
	policy := sys.Root.Spawn(s5.PolicyProps(s5.Env{
		Stats:  stats,
		Policy: s5.Policy{LogMin: algedonic.Emergency + 1, PublishMin: algedonic.Emergency + 1},
		Reactions: []s5.Reaction{func(a *algedonic.Alert) {
			if a.Reason == "gate" {
				close(entered)
				<-gate
				return
			}
			record("alert " + a.Reason)
		}},
	}))
	defer func() { _ = sys.Root.StopFuture(policy).Wait() }()
	pongs := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*s5.Pong); ok {
			record("pong")
		}
	}))
	defer func() { _ = sys.Root.StopFuture(pongs).Wait() }()

	sys.Root.Send(policy, &algedonic.Alert{Severity: algedonic.Info, Reason: "gate"})
	<-entered
	const ordinary = 500
	for range ordinary {
		sys.Root.RequestWithCustomSender(policy, &s5.Ping{}, pongs)
	}
	for _, r := range []string{"a", "b", "c"} {
		sys.Root.Send(policy, &algedonic.Alert{Severity: algedonic.Critical, Reason: r})
	}
	close(gate)
	deadline := time.After(10 * time.Second)
	for {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n == ordinary+3 {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("only %d of %d messages handled", n, ordinary+3)
		case <-time.After(5 * time.Millisecond):
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if order[0] != "alert a" || order[1] != "alert b" || order[2] != "alert c" {
		t.Fatalf("first handled: %v; want the three alerts, in order, before any ordinary message", order[:4])
	}
	if got := stats.Count(algedonic.Critical); got != 3 {
		t.Fatalf("critical count = %d, want 3", got)
	}
}
