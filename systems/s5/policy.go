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
}

// Spec is System 5's supervisor with the policy actor as its first child.
func Spec(cfg supervisor.Config, senv supervisor.Env, env Env, children ...supervisor.ChildSpec) supervisor.ChildSpec {
	all := append([]supervisor.ChildSpec{{Name: PolicyName, Props: PolicyProps(env)}}, children...)
	return systems.Spec(Name, cfg, senv, all...)
}

// PolicyProps are the policy actor's props: a priority mailbox, so that
// alerts overtake ordinary messages.
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
	return actor.PropsFromProducer(func() actor.Actor { return &policyActor{env: env, rules: &rules} },
		actor.WithMailbox(actor.UnboundedPriority()))
}

type policyActor struct {
	env   Env
	rules *ruleSet // shared by every instance; read-only
	// The workers of handed-off actions, started with the actor instance
	// (only when a rule needs them) and stopped with it.
	webhooks, sheds *dispatcher
}

func (p *policyActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *algedonic.Alert:
		p.handle(m)
	case *actor.Started:
		p.startWorkers()
	case *actor.Stopping, *actor.Restarting:
		p.stopWorkers()
	case *SetHooks:
		h := m.Hooks
		p.env.Stats.hooks.Store(&h)
	case *Ping:
		if ctx.Sender() != nil {
			ctx.Respond(&Pong{})
		}
	case *GetIdentity:
		id := p.env.Identity
		ctx.Respond(&id)
	case *GetStats:
		ctx.Respond(p.env.Stats.snapshot())
	case *AddReaction:
		if m.Fn == nil {
			return
		}
		old := *p.env.Stats.reactions.Load()
		rs := append(append(make([]namedReaction, 0, len(old)+1), old...), namedReaction{m.Name, m.Fn})
		p.env.Stats.reactions.Store(&rs)
	case actor.SystemMessage, actor.AutoReceiveMessage, actor.AutoRespond:
		// AutoRespond: a supervisor's start acknowledgement (*actor.Touch),
		// answered by protoactor itself after Receive.
	default:
		p.env.Logger.Warn("s5/policy: dropped a message of unknown type",
			zap.String("type", typeName(m)))
	}
}

func (p *policyActor) handle(a *algedonic.Alert) {
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
func (p *policyActor) react(r namedReaction, a *algedonic.Alert) {
	defer func() {
		if v := recover(); v != nil {
			p.env.Logger.Error("s5/policy: reaction panicked", zap.String("reaction", r.name), zap.Any("panic", v))
		}
	}()
	r.fn(a)
}
