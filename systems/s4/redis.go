package s4

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/state"
)

// redisProbeProps is the PING probe: every interval one ping goes through
// b (rejected while b is open, until its recovery lets one probe), on a
// goroutine so the mailbox never waits. b going open raises a Critical;
// closing again raises an Info.
func redisProbeProps(b *breaker.Breaker, st state.Store, every time.Duration, alerts algedonic.Raiser, source string) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &redisProbe{b: b, st: st, every: every, alerts: alerts, source: source}
	})
}

type redisProbe struct {
	b      *breaker.Breaker
	st     state.Store
	every  time.Duration
	alerts algedonic.Raiser
	source string

	unsub func()
	stop  context.CancelFunc
	done  chan struct{}
}

func (h *redisProbe) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		alerts, source := h.alerts, h.source
		h.unsub = h.b.Subscribe(func(t breaker.Transition) {
			if alerts == nil {
				return
			}
			switch {
			case t.To == breaker.Open && t.From == breaker.Closed:
				alerts.Raise(algedonic.Critical, source, "redis unreachable: health probe failing ("+string(t.Reason)+")")
			case t.To == breaker.Closed && t.From != breaker.Closed:
				alerts.Raise(algedonic.Info, source, "redis reachable again")
			}
		})
		run, cancel := context.WithCancel(context.Background())
		h.stop, h.done = cancel, make(chan struct{})
		go h.loop(run)
	case *actor.Stopping, *actor.Restarting:
		h.halt()
	}
}

// loop pings once per interval, one ping at a time; a ping is bounded by
// the interval (at least 100ms) and by the actor's life.
func (h *redisProbe) loop(run context.Context) {
	defer close(h.done)
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(run, max(h.every, 100*time.Millisecond))
		_ = h.b.Call(ctx, h.st.Ping)
		cancel()
		select {
		case <-run.Done():
			return
		case <-t.C:
		}
	}
}

func (h *redisProbe) halt() {
	if h.unsub != nil {
		h.unsub()
		h.unsub = nil
	}
	if h.stop != nil {
		h.stop()
		<-h.done
		h.stop = nil
	}
}
