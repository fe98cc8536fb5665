package s5_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/systems/s5"
)

// laneHarness runs a policy actor that serves a lane, with a channel bound
// to the lane as the node binds its own.
type laneHarness struct {
	sys   *actor.ActorSystem
	pid   *actor.PID
	stats *s5.Stats
	ch    *algedonic.Channel
	mu    sync.Mutex
	seen  []string // reasons, in the order the reaction saw them
}

func startLanePolicy(t *testing.T, env s5.Env) *laneHarness {
	t.Helper()
	sys := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(10 * time.Millisecond))
	return startLanePolicyOn(t, sys, env)
}

func (h *laneHarness) reasons() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

// Through the lane, S5 has counted the alert and run its reactions by the
// time Raise returns: the alert did not wait for the actor to be
// scheduled.
func TestLaneHandledBeforeRaiseReturns(t *testing.T) {
	h := startLanePolicy(t, s5.Env{})
	h.ch.Raise(algedonic.Critical, "s1/api", "down")
	if got := h.stats.Count(algedonic.Critical); got != 1 {
		t.Fatalf("critical count right after Raise = %d, want 1", got)
	}
	if got := h.reasons(); len(got) != 1 || got[0] != "down" {
		t.Fatalf("reactions saw %v, want [down]", got)
	}
}

// Alerts raised through the lane and sent to the PID meet in one order:
// the lane's, handled exactly once each.
func TestLaneAndMailboxShareOneOrder(t *testing.T) {
	h := startLanePolicy(t, s5.Env{})
	h.ch.Raise(algedonic.Warning, "s", "1")
	h.sys.Root.Send(h.pid, &algedonic.Alert{Severity: algedonic.Warning, Source: "s", Reason: "2"})
	if _, err := h.sys.Root.RequestFuture(h.pid, &s5.Ping{}, 10*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	h.ch.Raise(algedonic.Warning, "s", "3")
	if got := h.reasons(); len(got) != 3 || got[0] != "1" || got[1] != "2" || got[2] != "3" {
		t.Fatalf("reactions saw %v, want [1 2 3]", got)
	}
	if got := h.stats.Count(algedonic.Warning); got != 3 {
		t.Fatalf("warning count = %d, want 3", got)
	}
}

// A panic in S5's handling of an alert raised on another goroutine does
// not reach the raiser: it restarts the policy actor, as a panic on the
// actor did, and the restarted actor's lane still handles alerts.
func TestLanePanicRestartsPolicy(t *testing.T) {
	restarted := make(chan struct{}, 1)
	env := s5.Env{Policy: s5.Policy{LogMin: algedonic.Emergency + 1, PublishMin: algedonic.Info}}
	sys := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(10 * time.Millisecond))
	// Publish runs subscribers on the publisher's goroutine: this one makes
	// the handling of "boom" panic.
	sub := sys.EventStream.Subscribe(func(ev any) {
		switch e := ev.(type) {
		case *event.AlertRaised:
			if e.Reason == "boom" {
				panic("subscriber failed")
			}
		case *actor.SupervisorEvent:
			if e.Directive == actor.RestartDirective {
				select {
				case restarted <- struct{}{}:
				default:
				}
			}
		}
	})
	defer sys.EventStream.Unsubscribe(sub)
	env.Events = sys.EventStream
	h2 := startLanePolicyOn(t, sys, env)

	h2.ch.Raise(algedonic.Critical, "s", "boom") // must not panic here
	select {
	case <-restarted:
	case <-time.After(10 * time.Second):
		t.Fatal("the policy actor was not restarted")
	}
	if _, err := sys.Root.RequestFuture(h2.pid, &s5.Ping{}, 10*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	h2.ch.Raise(algedonic.Critical, "s", "after")
	if got := h2.reasons(); len(got) != 1 || got[0] != "after" {
		t.Fatalf("reactions saw %v, want [after] (boom failed before its reactions)", got)
	}
	if got := h2.stats.Count(algedonic.Critical); got != 2 {
		t.Fatalf("critical count = %d, want 2 (boom was counted before it failed)", got)
	}
}

func startLanePolicyOn(t *testing.T, sys *actor.ActorSystem, env s5.Env) *laneHarness {
	t.Helper()
	h := &laneHarness{sys: sys, stats: &s5.Stats{}}
	lane := algedonic.NewLane()
	env.Stats, env.Lane = h.stats, lane
	if env.Policy.LogMin == 0 {
		env.Policy = s5.Policy{LogMin: algedonic.Emergency + 1, PublishMin: algedonic.Emergency + 1}
	}
	env.Reactions = append(env.Reactions, func(a *algedonic.Alert) {
		h.mu.Lock()
		h.seen = append(h.seen, a.Reason)
		h.mu.Unlock()
	})
	h.pid = sys.Root.Spawn(s5.PolicyProps(env))
	t.Cleanup(func() { _ = sys.Root.StopFuture(h.pid).Wait() })
	// The lane is served once the actor has started: a reply proves it.
	if _, err := sys.Root.RequestFuture(h.pid, &s5.Ping{}, 10*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	h.ch = algedonic.NewChannel(sys.Root, "n1")
	h.ch.BindLane(lane)
	return h
}

// A raiser lends its goroutine for a budget of alerts only: the backlog
// left when it stops is handled by the policy actor (kicked), all of it,
// in order.
func TestLaneBacklogGoesToThePolicyActor(t *testing.T) {
	entered, gate := make(chan struct{}), make(chan struct{})
	const more = 200
	all := make(chan struct{})
	var got []string // written by one reaction at a time (the lane), read after all
	h := startLanePolicy(t, s5.Env{Reactions: []s5.Reaction{func(a *algedonic.Alert) {
		if a.Reason == "gate" {
			close(entered)
			<-gate
		}
		got = append(got, a.Reason)
		if len(got) == 1+more {
			close(all)
		}
	}}})
	raised := make(chan struct{})
	go func() {
		defer close(raised)
		h.ch.Raise(algedonic.Warning, "a", "gate")
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the gate alert was not handled")
	}
	for i := range more {
		h.ch.Raise(algedonic.Warning, "b", fmt.Sprint(i)) // queued: the lane is busy
	}
	close(gate)
	<-raised // the first raiser returned after its budget
	select {
	case <-all:
	case <-time.After(10 * time.Second):
		t.Fatalf("only %d of %d alerts handled", h.stats.Count(algedonic.Warning), 1+more)
	}
	if len(got) != 1+more || got[0] != "gate" {
		t.Fatalf("handled %d alerts, first %q; want %d, gate first", len(got), got[0], 1+more)
	}
	for i, r := range got[1:] {
		if r != fmt.Sprint(i) {
			t.Fatalf("alert %d handled as %q: out of order", i, r)
		}
	}
	if n := h.stats.Count(algedonic.Warning); n != 1+more {
		t.Fatalf("warning count = %d, want %d", n, 1+more)
	}
}
