package coord

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/state"
)

// AlertChannel is the bus channel of a cluster's alerts of one severity:
// vsm:<cluster>:algedonic:<severity>.
func AlertChannel(cluster string, sev algedonic.Severity) string {
	return "vsm:" + cluster + ":algedonic:" + sev.String()
}

// AlertMessage is what goes on an alert channel.
type AlertMessage struct {
	// Origin is the publishing node instance (Env.Node), so that a node
	// skips its own alerts.
	Origin string          `json:"origin"`
	Alert  algedonic.Alert `json:"alert"`
}

// AlertEnv configures an AlertBridge.
type AlertEnv struct {
	// Store carries the alert channels. Required.
	Store   state.Store
	Cluster string
	// Node identifies this node instance (as Env.Node).
	Node string
	// Remote subscribes to the other nodes' alerts and hands each to
	// Deliver.
	Remote bool
	// Deliver receives the other nodes' alerts (the node sends them to its
	// S5, Node field unchanged: that is what marks them remote).
	Deliver func(*algedonic.Alert)
	// Queue bounds the alerts waiting to be published; beyond it they are
	// dropped and counted. Default 1024.
	Queue int
	// Timeout bounds each publish. Default 2s.
	Timeout time.Duration
	// RetryEvery paces retries of the subscription. Default 500ms.
	RetryEvery time.Duration
	Logger     *zap.Logger
}

// AlertBridge publishes a node's alerts on the cluster's alert channels and,
// with Remote, delivers the other nodes' alerts. Publish never blocks: a
// goroutine owned by the bridge's actor (Props) does the I/O.
type AlertBridge struct {
	env AlertEnv
	q   chan *algedonic.Alert

	published, dropped, failed, received atomic.Uint64
}

// NewAlertBridge returns a bridge; start its actor (Props) to run it.
func NewAlertBridge(env AlertEnv) *AlertBridge {
	if env.Queue <= 0 {
		env.Queue = 1024
	}
	if env.Timeout <= 0 {
		env.Timeout = DefaultTimeout
	}
	if env.RetryEvery <= 0 {
		env.RetryEvery = DefaultRetryEvery
	}
	if env.Logger == nil {
		env.Logger = zap.NewNop()
	}
	return &AlertBridge{env: env, q: make(chan *algedonic.Alert, env.Queue)}
}

// Publish queues a for publication on AlertChannel(cluster, a.Severity).
// It never blocks: when the queue is full the alert is dropped and counted.
func (b *AlertBridge) Publish(a *algedonic.Alert) {
	select {
	case b.q <- a:
	default:
		b.dropped.Add(1)
	}
}

// AlertBridgeStats are the bridge's counters.
type AlertBridgeStats struct {
	Published, Dropped, Failed, Received uint64
}

// Stats returns the bridge's counters.
func (b *AlertBridge) Stats() AlertBridgeStats {
	return AlertBridgeStats{b.published.Load(), b.dropped.Load(), b.failed.Load(), b.received.Load()}
}

// Props is the actor that runs the bridge: it owns the publishing goroutine
// and the subscription, and ends both when it stops.
func (b *AlertBridge) Props() *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &bridgeActor{b: b} })
}

type bridgeActor struct {
	b     *AlertBridge
	stop  context.CancelFunc
	wg    sync.WaitGroup
	sub   state.Subscription
	retry *time.Timer
}

type resubscribe struct{}

func (a *bridgeActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		run, cancel := context.WithCancel(context.Background())
		a.stop = cancel
		a.wg.Add(1)
		go a.publishLoop(run)
		a.subscribe(ctx)
	case *Ping:
		ctx.Respond(&Pong{})
	case *resubscribe:
		a.retry = nil
		a.subscribe(ctx)
	case *actor.Stopping, *actor.Restarting:
		if a.retry != nil {
			a.retry.Stop()
		}
		if a.sub != nil {
			_ = a.sub.Close()
			a.sub = nil
		}
		if a.stop != nil {
			a.stop()
			a.wg.Wait()
		}
	}
}

func (a *bridgeActor) subscribe(ctx actor.Context) {
	b := a.b
	if !b.env.Remote || b.env.Deliver == nil || a.sub != nil {
		return
	}
	c, cancel := context.WithTimeout(context.Background(), b.env.Timeout)
	defer cancel()
	sub, err := b.env.Store.Subscribe(c, "vsm:"+b.env.Cluster+":algedonic:*", func(m state.Message) {
		var am AlertMessage
		if m.Decode(&am) != nil || am.Origin == b.env.Node || !am.Alert.Severity.Valid() {
			return
		}
		b.received.Add(1)
		al := am.Alert
		b.env.Deliver(&al)
	})
	if err != nil {
		b.env.Logger.Warn("s2: cannot subscribe to the cluster's alerts; retrying", zap.Error(err))
		root, self := ctx.ActorSystem().Root, ctx.Self()
		a.retry = time.AfterFunc(b.env.RetryEvery, func() { root.Send(self, &resubscribe{}) })
		return
	}
	a.sub = sub
}

func (a *bridgeActor) publishLoop(run context.Context) {
	defer a.wg.Done()
	b := a.b
	for {
		select {
		case <-run.Done():
			return
		case al := <-b.q:
			c, cancel := context.WithTimeout(run, b.env.Timeout)
			err := b.env.Store.Publish(c, AlertChannel(b.env.Cluster, al.Severity), AlertMessage{Origin: b.env.Node, Alert: *al})
			cancel()
			if err != nil {
				b.failed.Add(1)
				b.env.Logger.Debug("s2: cannot publish an alert", zap.Error(err))
				continue
			}
			b.published.Add(1)
		}
	}
}
