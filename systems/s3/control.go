package s3

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/viable-systems/vsm-connections/actors/health"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/pool"
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/systems/s1"
)

// ControlName is the controller actor under S3: "s3/control". Its
// algedonic alerts come from AuditSource.
const ControlName = "control"

// AuditSource is the source of the S3* audit's alerts.
const AuditSource = Name + "/audit"

// DefaultAuditInterval is how often the S3* audit runs by default.
const DefaultAuditInterval = 10 * time.Second

// The actions of control.action events (event.ControlAction.Action).
const (
	ActionOpenBreaker     = "open_breaker"
	ActionCloseBreaker    = "close_breaker"
	ActionEjectEndpoint   = "eject_endpoint"
	ActionRestoreEndpoint = "restore_endpoint"
	ActionNone            = "none"
	ActionAudit           = "audit"
	ActionAuditResolved   = "audit_resolved"
)

// Breakers is what S3 opens, closes and audits: System 1's breakers.
type Breakers interface {
	Breaker(name string) (*breaker.Breaker, bool)
	Breakers() []*breaker.Breaker
	BreakerPID(name string) (*actor.PID, bool)
}

// Statuses is where S3 reads the health checks' status: System 4's
// registry.
type Statuses interface {
	Status(name string) (health.Snapshot, bool)
}

var _ Statuses = (*health.Registry)(nil)

// HealthPolicy binds a health check to a pool: while Check is Unhealthy,
// S3 keeps Action applied to the pool; once it is not, S3 undoes it.
type HealthPolicy struct {
	Check string
	Pool  string
	// Action is ActionOpenBreaker (Breaker is the pool's breaker),
	// ActionEjectEndpoint (Endpoint is held out of the pool's balancer)
	// or ActionNone (the transition is only reported).
	Action   string
	Breaker  string
	Endpoint string
}

// ControlEnv is what the controller needs from its node.
type ControlEnv struct {
	// Root starts the controller under S3's supervisor, found in
	// Directory.
	Root      *actor.RootContext
	Directory *supervisor.Directory
	// Events carries the checks' health.changed to the controller, and
	// receives its control.action events.
	Events *eventstream.EventStream
	// Alerts receives the audit's Warning (and Info when resolved).
	Alerts   algedonic.Raiser
	Breakers Breakers
	Health   Statuses
	Policies []HealthPolicy
	// AuditInterval is the S3* audit's period: 0 is DefaultAuditInterval,
	// negative disables the audit.
	AuditInterval time.Duration
	// Autoscale are the autoscaled pools, reviewed every
	// AutoscaleInterval (0: DefaultAutoscaleInterval).
	Autoscale         []Autoscale
	AutoscaleInterval time.Duration
	// Clock times the audit and the autoscaler; nil is the wall clock.
	// Tests inject a fake.
	Clock health.Clock
}

// control is the controller's state, outside the actor so that a restart
// keeps what S3 has applied and what the audit has reported.
type control struct {
	s3  *S3
	env ControlEnv

	mu sync.Mutex
	// applied[i] is true while Policies[i]'s action is in force. Only the
	// controller's goroutine writes it; the lock orders an old instance's
	// last write before a restarted one's first read.
	applied []bool
	// findings are the audit's open disagreements, by target.
	findings map[string]string
	// prevStats[i] is Autoscale[i]'s pool at the last review (seen[i]
	// once there was one). Only the controller's goroutine uses them.
	prevStats []pool.Stats
	seen      []bool
}

// StartControl supervises the controller "s3/control": it applies the
// health policies as the checks' statuses change (and at every audit, so
// that a missed event is caught up), and runs the S3* audit. It returns
// once the controller listens to the event stream, so call it before
// S1's pools start: the pools count the event subscribers present then as
// the node's own.
func (s *S3) StartControl(ctx context.Context, env ControlEnv) (*actor.PID, error) {
	if env.Alerts == nil {
		env.Alerts = algedonic.Nop{}
	}
	if env.Clock == nil {
		env.Clock = wallClock{}
	}
	if env.AuditInterval == 0 {
		env.AuditInterval = DefaultAuditInterval
	}
	if env.AutoscaleInterval <= 0 {
		env.AutoscaleInterval = DefaultAutoscaleInterval
	}
	for _, as := range env.Autoscale {
		if as.Min < 1 || as.Max < as.Min {
			return nil, fmt.Errorf("s3: autoscale %s: want 1 <= min <= max, got %d and %d", as.Pool, as.Min, as.Max)
		}
	}
	for _, p := range env.Policies {
		switch p.Action {
		case ActionOpenBreaker, ActionEjectEndpoint, ActionNone:
		default:
			return nil, fmt.Errorf("s3: health policy %s/%s: unknown action %q", p.Check, p.Pool, p.Action)
		}
	}
	sup, ok := env.Directory.Lookup(Name)
	if !ok {
		return nil, fmt.Errorf("s3: %w", ErrNotRunning)
	}
	c := &control{s3: s, env: env, applied: make([]bool, len(env.Policies)), findings: map[string]string{},
		prevStats: make([]pool.Stats, len(env.Autoscale)), seen: make([]bool, len(env.Autoscale))}
	pid, err := supervisor.Start(ctx, env.Root, sup, supervisor.Worker(ControlName, actor.PropsFromProducer(func() actor.Actor {
		return &controller{c: c}
	})))
	if err != nil {
		return nil, fmt.Errorf("s3: %s: %w", ControlName, err)
	}
	// Started (which subscribes) is handled before a later message.
	if _, err := ask.Ask[*pong](ctx, env.Root, pid, &ping{}); err != nil {
		return nil, fmt.Errorf("s3: %s: %w", ControlName, err)
	}
	return pid, nil
}

// auditDue is sent by the audit timer.
type auditDue struct{}

// ping is answered with a pong once the controller has started.
type (
	ping struct{}
	pong struct{}
)

type controller struct {
	c       *control
	sub     *eventstream.Subscription
	timer   health.Timer // the audit's
	scaler  health.Timer // the autoscaler's
	scaling []bool       // a resize of Autoscale[i] is running
}

func (a *controller) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.halt()
	case *ping:
		ctx.Respond(&pong{})
	case *event.HealthChanged:
		for i, p := range a.c.env.Policies {
			if p.Check == m.Check {
				a.c.reconcile(i, m.Reason)
			}
		}
	case *auditDue:
		a.c.reconcileAll()
		a.c.audit()
		a.arm(ctx)
	case *autoscaleDue:
		a.review(ctx)
		a.armScaler(ctx)
	case *scaled:
		a.scaledDone(m)
	}
}

func (a *controller) start(ctx actor.Context) {
	env := a.c.env
	if env.Events != nil && len(env.Policies) > 0 {
		checks := map[string]bool{}
		for _, p := range env.Policies {
			checks[p.Check] = true
		}
		root, self := ctx.ActorSystem().Root, ctx.Self()
		// The publisher's goroutine only hands the event to the mailbox.
		// (Not SubscribeWithPredicate: it races with Publish.)
		a.sub = env.Events.Subscribe(func(ev any) {
			if h, ok := ev.(*event.HealthChanged); ok && checks[h.Check] {
				root.Send(self, h)
			}
		})
	}
	// A restart (or a start after the checks moved) catches up at once.
	a.c.reconcileAll()
	a.arm(ctx)
	a.scaling = make([]bool, len(env.Autoscale))
	a.armScaler(ctx)
}

func (a *controller) armScaler(ctx actor.Context) {
	if len(a.c.env.Autoscale) == 0 {
		return
	}
	root, self := ctx.ActorSystem().Root, ctx.Self()
	a.scaler = a.c.env.Clock.AfterFunc(a.c.env.AutoscaleInterval, func() { root.Send(self, &autoscaleDue{}) })
}

func (a *controller) arm(ctx actor.Context) {
	if a.c.env.AuditInterval < 0 {
		return
	}
	root, self := ctx.ActorSystem().Root, ctx.Self()
	a.timer = a.c.env.Clock.AfterFunc(a.c.env.AuditInterval, func() { root.Send(self, &auditDue{}) })
}

func (a *controller) halt() {
	if a.sub != nil {
		a.c.env.Events.Unsubscribe(a.sub)
		a.sub = nil
	}
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	if a.scaler != nil {
		a.scaler.Stop()
		a.scaler = nil
	}
}

func (c *control) reconcileAll() {
	for i := range c.env.Policies {
		c.reconcile(i, "")
	}
}

// reconcile makes policy i's action in force exactly while its check is
// Unhealthy. why is the transition's reason, when an event prompted it.
func (c *control) reconcile(i int, why string) {
	p := c.env.Policies[i]
	st, ok := c.env.Health.Status(p.Check)
	want := ok && st.Status == health.Unhealthy
	c.mu.Lock()
	applied := c.applied[i]
	c.mu.Unlock()
	if applied == want {
		return
	}
	reason := fmt.Sprintf("health check %s is %s", p.Check, st.Status)
	if !ok {
		reason = fmt.Sprintf("health check %s is gone", p.Check)
	}
	if why != "" {
		reason += ": " + why
	}
	ev := &event.ControlAction{Reason: reason, At: time.Now()}
	var err error
	switch p.Action {
	case ActionOpenBreaker:
		ev.Target = "breaker/" + p.Breaker
		ev.Action = ActionOpenBreaker
		if !want {
			ev.Action = ActionCloseBreaker
		}
		b, found := c.env.Breakers.Breaker(p.Breaker)
		switch {
		case !found:
			err = fmt.Errorf("no breaker %q", p.Breaker)
		case want:
			b.Open() // forced: no recovery timer until S3 closes it
		default:
			b.Close()
		}
	case ActionEjectEndpoint:
		ev.Target = "pool/" + p.Pool + "/" + p.Endpoint
		ev.Action = ActionEjectEndpoint
		if !want {
			ev.Action = ActionRestoreEndpoint
		}
		err = c.hold(p, want)
	default:
		ev.Target, ev.Action = "pool/"+p.Pool, ActionNone
	}
	if err != nil {
		// Not applied: the next event or audit tries again.
		ev.Err = err.Error()
	} else {
		c.mu.Lock()
		c.applied[i] = want
		c.mu.Unlock()
	}
	c.publish(ev) // after the state is stored, outside the lock
}

func (c *control) hold(p HealthPolicy, held bool) error {
	pl, ok := c.s3.pools.Pool(p.Pool)
	if !ok {
		return fmt.Errorf("no pool %q", p.Pool)
	}
	bal := pl.Client().Balancer()
	if bal == nil {
		return fmt.Errorf("pool %q has no endpoints", p.Pool)
	}
	var err error
	if held {
		_, err = bal.Hold(p.Endpoint)
	} else {
		_, err = bal.Release(p.Endpoint)
	}
	return err
}

func (c *control) publish(ev *event.ControlAction) {
	if c.env.Events != nil {
		c.env.Events.Publish(ev)
	}
}

// audit is S3*: it compares each S1 unit's actor with its handle, and
// reports each disagreement once (a Warning and a control.action), and
// its end (an Info and an audit_resolved).
func (c *control) audit() {
	if _, ok := c.env.Directory.Lookup(s1.Name); !ok {
		// S1 as a whole is down (the node stops S1 before S3, or S1's
		// supervisor is restarting): no unit can agree with its handle,
		// and that is S1's supervisor's business, not a finding.
		return
	}
	found := c.s3.findings(c.env.Breakers)
	c.mu.Lock()
	old := c.findings
	c.findings = found
	c.mu.Unlock()
	now := time.Now()
	for _, target := range slices.Sorted(maps.Keys(found)) {
		reason := found[target]
		if old[target] == reason {
			continue
		}
		c.env.Alerts.Raise(algedonic.Warning, AuditSource, target+": "+reason)
		c.publish(&event.ControlAction{Action: ActionAudit, Target: target, Reason: reason, At: now})
	}
	for _, target := range slices.Sorted(maps.Keys(old)) {
		if _, still := found[target]; still {
			continue
		}
		c.env.Alerts.Raise(algedonic.Info, AuditSource, target+": actor and handle agree again")
		c.publish(&event.ControlAction{Action: ActionAuditResolved, Target: target, Reason: "actor and handle agree again (was: " + old[target] + ")", At: now})
	}
}

// findings are the disagreements between S1's actors and handles now, by
// target: a pool or breaker handle whose actor is not running, a pool
// whose size is not the one S3 last set.
func (s *S3) findings(breakers Breakers) map[string]string {
	out := map[string]string{}
	for _, p := range s.pools.Pools() {
		target := "pool/" + p.Name()
		if _, ok := p.PID(); !ok {
			out[target] = fmt.Sprintf("the pool's handle is in use but its actor s1/pool/%s is not running", p.Name())
			continue
		}
		if want, ok := s.lastSize(p.Name()); ok {
			if got := p.Stats().Size; got != want {
				out[target] = fmt.Sprintf("the pool's handle has size %d, S3 last set %d", got, want)
			}
		}
	}
	if breakers != nil {
		for _, b := range breakers.Breakers() {
			if _, ok := breakers.BreakerPID(b.Name()); !ok {
				out["breaker/"+b.Name()] = fmt.Sprintf("the breaker's handle is in use but its actor s1/breaker/%s is not running", b.Name())
			}
		}
	}
	return out
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
func (wallClock) AfterFunc(d time.Duration, f func()) health.Timer {
	return time.AfterFunc(d, f)
}
