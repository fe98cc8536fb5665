package s5

import (
	"net/http"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/systems"
)

// Name is System 5's stable name.
const Name = "s5"

// PolicyName is the policy actor's name under S5; its stable name is
// "s5/policy".
const PolicyName = "policy"

// Policy says what S5 does with an alert of each severity.
type Policy struct {
	LogMin     algedonic.Severity // lowest severity logged
	PublishMin algedonic.Severity // lowest severity published on the event stream
}

// Stats are the alert counters. They live outside the actor so that a
// restart keeps them.
//
// Stats also keeps what the actor must not lose on a restart: the reactions
// added at run time and the hooks bound with SetHooks.
type Stats struct {
	bySeverity [algedonic.Emergency + 1]atomic.Uint64
	invalid    atomic.Uint64
	reactions  atomic.Pointer[[]namedReaction]
	hooks      atomic.Pointer[Hooks]
	webhooks   dispatchCounters
	sheds      dispatchCounters
}

// Webhooks are the counters of the webhook workers.
func (s *Stats) Webhooks() DispatchStats { return s.webhooks.snapshot() }

// Sheds are the counters of the shed_pool worker.
func (s *Stats) Sheds() DispatchStats { return s.sheds.snapshot() }

type namedReaction struct {
	name string
	fn   Reaction
}

// Count is the number of alerts of severity s received.
func (s *Stats) Count(sev algedonic.Severity) uint64 {
	if !sev.Valid() {
		return 0
	}
	return s.bySeverity[sev].Load()
}

func (s *Stats) snapshot() *StatsResult {
	r := &StatsResult{BySeverity: map[string]uint64{}, Invalid: s.invalid.Load(),
		Webhooks: s.webhooks.snapshot(), Sheds: s.sheds.snapshot()}
	for sev := algedonic.Info; sev <= algedonic.Emergency; sev++ {
		r.BySeverity[sev.String()] = s.bySeverity[sev].Load()
	}
	return r
}

// Env is what the policy actor needs from its node.
type Env struct {
	Identity  Identity
	Policy    Policy
	Events    *eventstream.EventStream
	Logger    *zap.Logger // nil: no logging
	Stats     *Stats      // required; shared across restarts
	Reactions []Reaction  // run for every accepted alert
	// Rules are the policy rules (config algedonic.policy); S5 applies
	// their defaults.
	Rules config.Policy
	// Hooks are what the rules act on. A nil hook fails its actions with
	// ErrNoHook. SetHooks replaces them at run time (the node binds its
	// own once its units run).
	Hooks Hooks
	// HTTPClient makes the webhook calls. Default: a client of S5's own,
	// without keep-alive (webhooks are rare) and not following redirects.
	HTTPClient *http.Client
	// Lane is the alert lane the policy actor serves (the node binds its
	// algedonic channel to it). Nil: a lane of its own, reached only
	// through the actor's mailbox. One lane per policy actor.
	Lane *algedonic.Lane
}

// Spec is System 5's supervisor with the policy actor as its first child.
func Spec(cfg supervisor.Config, senv supervisor.Env, env Env, children ...supervisor.ChildSpec) supervisor.ChildSpec {
	all := append([]supervisor.ChildSpec{{Name: PolicyName, Props: PolicyProps(env)}}, children...)
	return systems.Spec(Name, cfg, senv, all...)
}

// PolicyProps are the policy actor's props. The actor serves env.Lane:
// alerts posted there are handled without going through the mailbox.
// Alerts sent to the actor's PID go through a priority mailbox (so they
// overtake ordinary messages) into the same lane. Spawn one actor per
// props.
func PolicyProps(env Env) *actor.Props {
	if env.Logger == nil {
		env.Logger = zap.NewNop()
	}
	if env.Stats == nil {
		env.Stats = &Stats{}
	}
	if env.Stats.hooks.Load() == nil {
		h := env.Hooks
		env.Stats.hooks.Store(&h)
	}
	if env.HTTPClient == nil {
		env.HTTPClient = &http.Client{
			Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, DisableKeepAlives: true},
			// A webhook that redirects is answered by its redirect: S5
			// posts to the URL it was given, nowhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	rules, errs := compileRules(env.Rules)
	for _, err := range errs {
		env.Logger.Error("s5/policy: rule left out", zap.Error(err))
	}
	if env.Stats.reactions.Load() == nil {
		rs := make([]namedReaction, 0, len(env.Reactions))
		for _, r := range env.Reactions {
			rs = append(rs, namedReaction{fn: r})
		}
		env.Stats.reactions.Store(&rs)
	}
	lane := env.Lane
	if lane == nil {
		lane = algedonic.NewLane()
	}
	c := &core{env: env, rules: &rules, lane: lane}
	lane.Serve(c.handleSafe, c.kick)
	return actor.PropsFromProducer(func() actor.Actor { return &policyActor{c: c} },
		actor.WithMailbox(actor.UnboundedPriority()))
}

// core is the policy's alert handling. One core serves every instance of
// the policy actor (it outlives restarts), and the lane runs it one alert
// at a time: on a raiser's goroutine, or on the actor's for the alerts
// that come through the mailbox and for the lane's backlog.
type core struct {
	env   Env
	rules *ruleSet // read-only
	lane  *algedonic.Lane
	self  atomic.Pointer[selfRef] // the running instance, for kicks
	// The workers of handed-off actions, started with the actor instance
	// (only when a rule needs them) and stopped with it. They change only
	// while the lane is paused, so the lane's lock orders them with every
	// alert handled.
	webhooks, sheds *dispatcher
}

type selfRef struct {
	pid    *actor.PID
	sender actor.SenderContext
}

// laneKick asks the policy actor to drain the lane on its own goroutine:
// a raiser handed over the alerts left past its budget. Sent bare at the
// alerts' priority so it overtakes ordinary traffic.
type laneKick struct{}

func (*laneKick) GetPriority() int8 { return algedonic.AlertPriority }

// lanePanic makes the policy actor fail with the panic an alert's handling
// raised on another goroutine, so that S5's supervisor restarts it as it
// did when every alert was handled on the actor.
type lanePanic struct{ v any }

func (*lanePanic) GetPriority() int8 { return algedonic.AlertPriority }

func (p *core) kick() {
	if s := p.self.Load(); s != nil {
		s.sender.Send(s.pid, &laneKick{})
	}
}

// handleSafe is the lane's handle function: a panic is logged, costs
// only that alert, and is passed to the actor to fail on.
func (p *core) handleSafe(a *algedonic.Alert) {
	defer func() {
		if v := recover(); v != nil {
			p.env.Logger.Error("s5/policy: handling an alert panicked", zap.String("source", a.Source), zap.Any("panic", v))
			if s := p.self.Load(); s != nil {
				s.sender.Send(s.pid, &lanePanic{v})
			}
		}
	}()
	p.handle(a)
}

// policyActor is one instance of the policy actor: the ordinary traffic,
// and the lane's lifecycle (paused while the instance is down).
type policyActor struct {
	c *core
}

func (p *policyActor) Receive(ctx actor.Context) {
	c := p.c
	switch m := ctx.Message().(type) {
	case *algedonic.Alert:
		// Sent to the PID (by a test, or a channel bound to the PID only):
		// the same lane, so the same order and handling.
		c.lane.Post(m)
	case *laneKick:
		c.lane.Drain()
	case *lanePanic:
		panic(m.v)
	case *actor.Started:
		c.self.Store(&selfRef{pid: ctx.Self(), sender: ctx.ActorSystem().Root})
		c.startWorkers()
		c.lane.Resume()
	case *actor.Stopping, *actor.Restarting:
		// Paused first: no alert is being handled while the workers stop,
		// and alerts raised meanwhile wait for the next instance, as they
		// waited in the mailbox.
		c.lane.Pause()
		c.stopWorkers()
	case *SetHooks:
		h := m.Hooks
		c.env.Stats.hooks.Store(&h)
	case *Ping:
		if ctx.Sender() != nil {
			ctx.Respond(&Pong{})
		}
	case *GetIdentity:
		id := c.env.Identity
		ctx.Respond(&id)
	case *GetStats:
		ctx.Respond(c.env.Stats.snapshot())
	case *AddReaction:
		if m.Fn == nil {
			return
		}
		old := *c.env.Stats.reactions.Load()
		rs := append(append(make([]namedReaction, 0, len(old)+1), old...), namedReaction{m.Name, m.Fn})
		c.env.Stats.reactions.Store(&rs)
	case actor.SystemMessage, actor.AutoReceiveMessage, actor.AutoRespond:
		// AutoRespond: a supervisor's start acknowledgement (*actor.Touch),
		// answered by protoactor itself after Receive.
	default:
		c.env.Logger.Warn("s5/policy: dropped a message of unknown type",
			zap.String("type", typeName(m)))
	}
}

func (p *core) handle(a *algedonic.Alert) {
	st := p.env.Stats
	if !a.Severity.Valid() {
		st.invalid.Add(1)
		p.env.Logger.Warn("s5/policy: dropped an alert with an invalid severity",
			zap.Int8("severity", int8(a.Severity)), zap.String("source", a.Source))
		return
	}
	st.bySeverity[a.Severity].Add(1)
	if a.Severity >= p.env.Policy.LogMin {
		fields := []zap.Field{zap.String("severity", a.Severity.String()), zap.String("source", a.Source),
			zap.String("reason", a.Reason), zap.String("node", a.Node), zap.Time("raised", a.Time)}
		switch {
		case a.Severity >= algedonic.Critical:
			p.env.Logger.Error("algedonic alert", fields...)
		case a.Severity == algedonic.Warning:
			p.env.Logger.Warn("algedonic alert", fields...)
		default:
			p.env.Logger.Info("algedonic alert", fields...)
		}
	}
	if a.Severity >= p.env.Policy.PublishMin && p.env.Events != nil {
		p.env.Events.Publish(alertRaised(a))
	}
	p.decide(a)
	for _, r := range *st.reactions.Load() {
		p.react(r, a)
	}
}

// react isolates a reaction's panic so one bad reaction neither restarts the
// policy actor nor stops the others.
func (p *core) react(r namedReaction, a *algedonic.Alert) {
	defer func() {
		if v := recover(); v != nil {
			p.env.Logger.Error("s5/policy: reaction panicked", zap.String("reaction", r.name), zap.Any("panic", v))
		}
	}()
	r.fn(a)
}
