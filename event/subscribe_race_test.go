package event_test

import (
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/viable-systems/vsm-connections/event"
)

// Subscribing while another goroutine publishes is safe: protoactor's
// SubscribeWithPredicate writes the predicate after the subscription is
// visible to Publish, which -race reports (an SSE client connecting during
// traffic did). Subscribe must not use it; every subscriber still gets
// only Events, and each one published after it subscribed.
func TestSubscribeWhilePublishing(t *testing.T) {
	es := eventstream.NewEventStream()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				es.Publish(&event.PoolResized{Pool: "p"})
				es.Publish("not an event")
			}
		}
	}()
	for range 50 {
		got := make(chan event.Event, 1)
		s := event.Subscribe(es, func(ev event.Event) {
			select {
			case got <- ev:
			default:
			}
		})
		if ev := <-got; ev.Kind() != "pool.resized" {
			t.Fatalf("got %s", ev.Kind())
		}
		s.Cancel()
		s.Wait()
	}
	close(stop)
	wg.Wait()
}
