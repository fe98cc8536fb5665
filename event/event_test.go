package event_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/eventstream"
	"go.uber.org/goleak"

	"github.com/viable-systems/vsm-connections/event"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSubscribeDeliversOnlyEventsInOrder(t *testing.T) {
	es := eventstream.NewEventStream()
	got := make(chan event.Event, 8)
	s := event.Subscribe(es, func(ev event.Event) { got <- ev }, event.WithFilter(func(ev event.Event) bool {
		return strings.HasPrefix(ev.Kind(), "member.")
	}))
	es.Publish("not an event")
	es.Publish(&event.AlertRaised{Reason: "filtered out"})
	es.Publish(&event.MemberJoined{Node: "a"})
	es.Publish(&event.MemberLeft{Node: "a"})
	for _, want := range []string{"member.joined", "member.left"} {
		select {
		case ev := <-got:
			if ev.Kind() != want {
				t.Fatalf("got %s, want %s", ev.Kind(), want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", want)
		}
	}
	s.Cancel()
	s.Cancel() // idempotent
	s.Wait()
	es.Publish(&event.MemberJoined{Node: "late"})
	if s.Delivered() != 2 || s.Dropped() != 0 || es.Length() != 0 {
		t.Fatalf("delivered=%d dropped=%d subscribers=%d", s.Delivered(), s.Dropped(), es.Length())
	}
}

func TestEveryKindIsDistinctAndEncodes(t *testing.T) {
	all := []event.Event{
		&event.ActorStarted{}, &event.ActorRestarted{}, &event.ActorStopped{}, &event.SupervisionEscalated{}, &event.ActorShutdown{},
		&event.AlertRaised{}, &event.PolicyDecided{}, &event.BreakerStateChanged{}, &event.PoolCheckout{}, &event.PoolResized{},
		&event.AdapterRequest{}, &event.EndpointEjected{}, &event.EndpointRestored{}, &event.HealthResult{},
		&event.HealthChanged{}, &event.ControlAction{}, &event.MemberJoined{}, &event.MemberLeft{},
	}
	seen := map[string]bool{}
	for _, ev := range all {
		if seen[ev.Kind()] {
			t.Errorf("kind %s used twice", ev.Kind())
		}
		seen[ev.Kind()] = true
		if _, err := json.Marshal(ev); err != nil {
			t.Errorf("%s: %v", ev.Kind(), err)
		}
	}
}

// A subscriber that panics loses that event only: the panic is counted and
// reported, the publisher is unharmed, and delivery goes on.
func TestPanickingSubscriberIsContained(t *testing.T) {
	es := eventstream.NewEventStream()
	got := make(chan string, 8)
	reported := make(chan any, 8)
	s := event.Subscribe(es, func(ev event.Event) {
		if e, ok := ev.(*event.MemberJoined); ok && e.Node == "bad" {
			panic("subscriber bug")
		}
		got <- ev.(*event.MemberJoined).Node
	}, event.OnPanic(func(_ event.Event, v any) { reported <- v }))
	defer func() { s.Cancel(); s.Wait() }()
	for _, n := range []string{"a", "bad", "b"} {
		es.Publish(&event.MemberJoined{Node: n})
	}
	for _, want := range []string{"a", "b"} {
		select {
		case n := <-got:
			if n != want {
				t.Fatalf("got %s, want %s", n, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", want)
		}
	}
	if v := <-reported; v != "subscriber bug" {
		t.Fatalf("reported %v", v)
	}
	if s.Panics() != 1 || s.Delivered() != 2 {
		t.Fatalf("panics=%d delivered=%d, want 1 and 2", s.Panics(), s.Delivered())
	}
}

// A panicking filter runs on the publisher's goroutine: it must not unwind
// into Publish.
func TestPanickingFilterDoesNotReachPublisher(t *testing.T) {
	es := eventstream.NewEventStream()
	s := event.Subscribe(es, func(event.Event) {}, event.WithFilter(func(event.Event) bool { panic("filter bug") }))
	defer func() { s.Cancel(); s.Wait() }()
	es.Publish(&event.MemberJoined{Node: "a"}) // would panic the test
	if s.Panics() != 1 || s.Delivered() != 0 {
		t.Fatalf("panics=%d delivered=%d", s.Panics(), s.Delivered())
	}
}

// Subscribing while events are published is race-free (protoactor's
// SubscribeWithPredicate is not: run with -race).
func TestSubscribeWhilePublishing(t *testing.T) {
	es := eventstream.NewEventStream()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				es.Publish(&event.MemberJoined{Node: "a"})
			}
		}
	}()
	for range 1000 {
		s := event.Subscribe(es, func(event.Event) {})
		s.Cancel()
		s.Wait()
	}
	close(stop)
	<-done
	if n := es.Length(); n != 0 {
		t.Fatalf("%d subscribers left", n)
	}
}
