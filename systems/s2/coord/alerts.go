package coord

import (
	"context"
	"errors"
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

// MembersKey holds the node instances that run under one node.name in a
// cluster (a JSON map of instance id to expiry, in Unix milliseconds), so a
// node can tell when another shares its name.
func MembersKey(cluster, name string) string { return "vsm:" + cluster + ":members:" + name }

// AlertMessage is what goes on an alert channel.
type AlertMessage struct {
	// Origin is the publishing node instance (AlertEnv.Node), so that a
	// node skips its own alerts; Alert.Instance carries it too.
	Origin string          `json:"origin"`
	Alert  algedonic.Alert `json:"alert"`
}

// DefaultPresenceTTL is AlertEnv.PresenceTTL when zero.
const DefaultPresenceTTL = 30 * time.Second

// AlertEnv configures an AlertBridge.
type AlertEnv struct {
	// Store carries the alert channels. Required.
	Store   state.Store
	Cluster string
	// Node identifies this node instance, uniquely (vsm's
	// Node.InstanceID): it is the Origin of the alerts the bridge
	// publishes, and alerts with this Origin are its own. Node names may
	// be shared by mistake (two nodes started from one config), so they
	// cannot serve.
	Node string
	// Name is node.name. The bridge announces Node under
	// MembersKey(Cluster, Name) and logs a warning when another instance
	// is there, or when an alert from another instance carries Name.
	Name string
	// PresenceTTL is how long an announcement lasts; it is renewed every
	// third of it. Default 30s.
	PresenceTTL time.Duration
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

	mu        sync.Mutex
	namesakes map[string]bool // other instances seen with this node's name
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
	if env.PresenceTTL <= 0 {
		env.PresenceTTL = DefaultPresenceTTL
	}
	return &AlertBridge{env: env, q: make(chan *algedonic.Alert, env.Queue), namesakes: map[string]bool{}}
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
	// Namesakes is how many other node instances were seen under this
	// node's name (each is logged once, as a warning).
	Namesakes int
}

// Stats returns the bridge's counters.
func (b *AlertBridge) Stats() AlertBridgeStats {
	b.mu.Lock()
	n := len(b.namesakes)
	b.mu.Unlock()
	return AlertBridgeStats{Published: b.published.Load(), Dropped: b.dropped.Load(), Failed: b.failed.Load(),
		Received: b.received.Load(), Namesakes: n}
}

// namesake logs, once per instance, that another node instance runs under
// this node's name: its alerts would look local, and an operator most
// likely started two nodes from one config.
func (b *AlertBridge) namesake(instance, how string) {
	b.mu.Lock()
	seen := b.namesakes[instance]
	b.namesakes[instance] = true
	b.mu.Unlock()
	if !seen {
		b.env.Logger.Warn("s2: another node instance runs under this node's name; give each node its own node.name",
			zap.String("name", b.env.Name), zap.String("instance", b.env.Node),
			zap.String("other_instance", instance), zap.String("seen_by", how))
	}
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
		if m.Decode(&am) != nil || am.Origin == b.env.Node || am.Alert.Instance == b.env.Node || !am.Alert.Severity.Valid() {
			return // our own, by instance: the name may be shared
		}
		b.received.Add(1)
		al := am.Alert
		if al.Instance == "" {
			al.Instance = am.Origin
		}
		if b.env.Name != "" && al.Node == b.env.Name {
			b.namesake(al.Instance, "alert")
		}
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
	b.announce(run)
	renew := time.NewTicker(b.env.PresenceTTL / 3)
	defer renew.Stop()
	for {
		select {
		case <-run.Done():
			b.leave()
			return
		case <-renew.C:
			b.announce(run)
		case al := <-b.q:
			c, cancel := context.WithTimeout(run, b.env.Timeout)
			msg := AlertMessage{Origin: b.env.Node, Alert: *al}
			msg.Alert.Instance = b.env.Node
			err := b.env.Store.Publish(c, AlertChannel(b.env.Cluster, al.Severity), msg)
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

// announce adds this instance to the members of its name, dropping expired
// entries, and warns of any other live instance there.
func (b *AlertBridge) announce(run context.Context) {
	if b.env.Name == "" {
		return
	}
	ctx, cancel := context.WithTimeout(run, b.env.Timeout)
	defer cancel()
	key := MembersKey(b.env.Cluster, b.env.Name)
	var others []string
	err := b.env.Store.Transaction(ctx, []string{key}, func(tx state.Tx) error {
		others = others[:0]
		members := map[string]int64{}
		if err := tx.Get(ctx, key, &members); err != nil && !errors.Is(err, state.ErrNotFound) && !errors.Is(err, state.ErrDecode) {
			return err
		}
		now := time.Now()
		for id, until := range members {
			switch {
			case until < now.UnixMilli():
				delete(members, id)
			case id != b.env.Node:
				others = append(others, id)
			}
		}
		members[b.env.Node] = now.Add(b.env.PresenceTTL).UnixMilli()
		return tx.Set(key, members, state.Expire(b.env.PresenceTTL))
	})
	if err != nil {
		b.env.Logger.Debug("s2: cannot announce this node instance", zap.Error(err))
		return
	}
	for _, id := range others {
		b.namesake(id, "members key")
	}
}

// leave removes this instance from the members of its name, best effort
// (its entry expires anyway).
func (b *AlertBridge) leave() {
	if b.env.Name == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.env.Timeout)
	defer cancel()
	key := MembersKey(b.env.Cluster, b.env.Name)
	_ = b.env.Store.Transaction(ctx, []string{key}, func(tx state.Tx) error {
		members := map[string]int64{}
		if err := tx.Get(ctx, key, &members); err != nil {
			return nil
		}
		delete(members, b.env.Node)
		if len(members) == 0 {
			tx.Del(key)
			return nil
		}
		return tx.Set(key, members, state.Expire(b.env.PresenceTTL))
	})
}
