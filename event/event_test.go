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
		&event.AlertRaised{}, &event.BreakerStateChanged{}, &event.PoolCheckout{}, &event.PoolResized{},
		&event.AdapterRequest{}, &event.EndpointEjected{}, &event.EndpointRestored{}, &event.HealthResult{},
		&event.MemberJoined{}, &event.MemberLeft{},
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
