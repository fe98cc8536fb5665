package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/event"
)

// Props returns the props of a supervisor whose stable name is path (""
// for the node root, "s1", "s1/pool/api"...). On Started it spawns children
// in order, registering each under path+"/"+Name (Name alone when path is
// ""), and it applies cfg when one fails.
//
// One Props value backs one live actor at a time: the child list
// (static children plus those added by StartChild) is kept in the props so
// that it survives restarts of the supervisor; it is reset when the
// supervisor stops for good.
func Props(path string, cfg Config, env Env, children ...ChildSpec) *actor.Props {
	cfg = cfg.normalized()
	if env.Directory == nil {
		env.Directory = NewDirectory()
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("supervisor", displayPath(path)))
	sh := &shared{static: slices.Clone(children)}
	return actor.PropsFromProducer(func() actor.Actor {
		return &supervisor{path: path, cfg: cfg, env: env, log: log, shared: sh}
	})
}

// shared is the part of a supervisor's state that outlives one incarnation.
type shared struct {
	mu       sync.Mutex
	static   []ChildSpec
	specs    []ChildSpec // nil until first Started; reset on Stopped
	deferred []deferredMsg
}

// deferredMsg is a request that arrived while the supervisor was
// restarting, replayed by the next incarnation in arrival order.
type deferredMsg struct {
	msg     any
	replyTo *actor.PID
}

func (sh *shared) init() []ChildSpec {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.specs == nil {
		sh.specs = slices.Clone(sh.static)
		if sh.specs == nil {
			sh.specs = []ChildSpec{}
		}
	}
	return slices.Clone(sh.specs)
}

func (sh *shared) add(s ChildSpec) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.specs = append(sh.specs, s)
}

func (sh *shared) remove(name string) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.specs = slices.DeleteFunc(sh.specs, func(s ChildSpec) bool { return s.Name == name })
}

func (sh *shared) reset() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.specs = nil
	sh.deferred = nil
}

func (sh *shared) deferMsg(m deferredMsg) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.deferred = append(sh.deferred, m)
}

func (sh *shared) takeDeferred() []deferredMsg {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	d := sh.deferred
	sh.deferred = nil
	return d
}

type childState int

const (
	running childState = iota
	restarting
	stopping
)

func (s childState) String() string {
	switch s {
	case running:
		return "running"
	case restarting:
		return "restarting"
	default:
		return "stopping"
	}
}

type child struct {
	spec       ChildSpec
	path       string
	pid        *actor.PID
	restarts   int         // since spawn
	failures   []time.Time // within the window
	state      childState
	stopReason string
	waiters    []*actor.PID // StopChild requesters, answered on Terminated

	// pending backoff restart
	pendingID     uint64
	pendingReason string
	pendingDelay  time.Duration
}

type supervisor struct {
	path   string
	cfg    Config
	env    Env
	log    *slog.Logger
	shared *shared

	sys      *actor.ActorSystem
	self     *actor.PID
	ctl      actor.Supervisor // our actor context, as given to HandleFailure
	children []*child
	timers   map[uint64]timer
	nextID   uint64
	closing  string // why we are stopping or restarting; "" while alive
	restart  bool   // closing because of a restart (requests are deferred)
	// escalated: we gave up on a child and asked our parent to deal with us;
	// our mailbox is suspended and our children are about to be stopped, so
	// further failures must not escalate again.
	escalated bool
}

// The supervisor actor is its own strategy: protoactor calls HandleFailure
// on the supervisor's goroutine, so it can read the ordered child list.
var _ actor.SupervisorStrategy = (*supervisor)(nil)

func (s *supervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.started(ctx)
	case *StartChild:
		s.startChild(ctx, m, ctx.Sender())
	case *StopChild:
		s.stopChild(ctx, m, ctx.Sender())
	case *GetChildren:
		if s.restart {
			s.deferRequest(m, ctx.Sender())
			return
		}
		s.respond(ctx, ctx.Sender(), s.snapshot())
	case *restartDue:
		s.restartDue(m.id)
	case *actor.Terminated:
		s.terminated(ctx, m)
	case *actor.Restarting:
		s.closeDown("supervisor restarting", true)
	case *actor.Stopping:
		s.closeDown("supervisor stopping", false)
	case *actor.Stopped:
		s.env.Directory.unregister(s.path, ctx.Self())
		// Requests deferred by a restart that turned into a stop.
		for _, d := range s.shared.takeDeferred() {
			gone := fmt.Errorf("%w: %s", ErrStopped, s.closing)
			switch d.msg.(type) {
			case *StartChild:
				s.respond(ctx, d.replyTo, &StartChildResult{Err: gone})
			case *StopChild:
				s.respond(ctx, d.replyTo, &StopChildResult{Err: gone})
			case *GetChildren:
				s.respond(ctx, d.replyTo, &Children{})
			}
		}
		s.shared.reset()
	case *actor.ReceiveTimeout:
	default:
		s.log.Warn("supervisor: ignoring unknown message", slog.String("type", fmt.Sprintf("%T", m)))
	}
}

func (s *supervisor) started(ctx actor.Context) {
	s.sys, s.self = ctx.ActorSystem(), ctx.Self()
	s.env.Directory.registerSelf(s.path, s.self)
	for _, spec := range s.shared.init() {
		if _, err := s.spawn(ctx, spec); err != nil {
			s.log.Error("supervisor: cannot spawn child", slog.String("child", spec.Name), slog.Any("err", err))
		}
	}
	for _, d := range s.shared.takeDeferred() {
		switch m := d.msg.(type) {
		case *StartChild:
			s.startChild(ctx, m, d.replyTo)
		case *StopChild:
			s.stopChild(ctx, m, d.replyTo)
		case *GetChildren:
			s.respond(ctx, d.replyTo, s.snapshot())
		}
	}
}

func validate(spec ChildSpec) error {
	switch {
	case spec.Name == "":
		return fmt.Errorf("%w: empty name", ErrInvalidSpec)
	case spec.Props == nil:
		return fmt.Errorf("%w: %q has no props", ErrInvalidSpec, spec.Name)
	case spec.Kind != "" && spec.Kind != KindWorker && spec.Kind != KindSupervisor:
		return fmt.Errorf("%w: %q has unknown kind %q", ErrInvalidSpec, spec.Name, spec.Kind)
	}
	return nil
}

func (s *supervisor) spawn(ctx actor.Context, spec ChildSpec) (*child, error) {
	if err := validate(spec); err != nil {
		return nil, err
	}
	if spec.Kind == "" {
		spec.Kind = KindWorker
	}
	if s.find(spec.Name) != nil {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateChild, spec.Name)
	}
	path := join(s.path, spec.Name)
	if _, taken := s.env.Directory.Lookup(path); taken {
		return nil, fmt.Errorf("%w: stable name %q is taken", ErrDuplicateChild, path)
	}
	// Register before spawning: a child supervisor registers itself on
	// Started, which may run before SpawnNamed returns, and must find its
	// parent link already there. protoactor names children self.Id+"/"+name.
	want := actor.NewPID(s.self.Address, s.self.Id+"/"+spec.Name)
	s.env.Directory.register(path, want, spec.Kind, s.path)
	pid, err := ctx.SpawnNamed(spec.Props, spec.Name)
	if err != nil {
		s.env.Directory.unregister(path, want)
		if errors.Is(err, actor.ErrNameExists) {
			return nil, fmt.Errorf("%w: %q: %w", ErrDuplicateChild, spec.Name, err)
		}
		return nil, fmt.Errorf("supervisor: spawn %q: %w", spec.Name, err)
	}
	if !pid.Equal(want) { // a spawn middleware chose another id
		s.env.Directory.unregister(path, want)
		s.env.Directory.register(path, pid, spec.Kind, s.path)
	}
	c := &child{spec: spec, path: path, pid: pid}
	s.children = append(s.children, c)
	s.publish(&event.ActorStarted{
		Name: path, PID: PIDString(pid), Supervisor: s.path, ActorKind: spec.Kind, At: s.cfg.clock.Now(),
	})
	return c, nil
}

func (s *supervisor) startChild(ctx actor.Context, m *StartChild, replyTo *actor.PID) {
	if s.closing != "" {
		if s.restart {
			s.deferRequest(m, replyTo)
			return
		}
		s.respond(ctx, replyTo, &StartChildResult{Err: fmt.Errorf("%w: %s", ErrStopped, s.closing)})
		return
	}
	c, err := s.spawn(ctx, m.Spec)
	if err != nil {
		s.respond(ctx, replyTo, &StartChildResult{Err: err})
		return
	}
	s.shared.add(c.spec)
	s.respond(ctx, replyTo, &StartChildResult{PID: c.pid})
}

// deferRequest keeps a request that arrives while protoactor stops our
// children for a restart: spawning now would add a child the restart then
// waits for forever, and the answer would describe a dying incarnation.
func (s *supervisor) deferRequest(m any, replyTo *actor.PID) {
	s.log.Debug("supervisor: deferring request until restarted", slog.String("type", fmt.Sprintf("%T", m)))
	s.shared.deferMsg(deferredMsg{msg: m, replyTo: replyTo})
}

func (s *supervisor) stopChild(ctx actor.Context, m *StopChild, replyTo *actor.PID) {
	if s.closing != "" {
		if s.restart {
			s.deferRequest(m, replyTo)
			return
		}
		s.respond(ctx, replyTo, &StopChildResult{Err: fmt.Errorf("%w: %s", ErrStopped, s.closing)})
		return
	}
	c := s.find(m.Name)
	if c == nil {
		s.respond(ctx, replyTo, &StopChildResult{Err: fmt.Errorf("%w: %q", ErrNoChild, m.Name)})
		return
	}
	s.shared.remove(m.Name)
	if replyTo != nil {
		c.waiters = append(c.waiters, replyTo)
	}
	if c.state != stopping {
		c.state, c.stopReason = stopping, "stopped by request"
		ctx.Stop(c.pid)
	}
}

func (s *supervisor) terminated(ctx actor.Context, m *actor.Terminated) {
	i := slices.IndexFunc(s.children, func(c *child) bool { return c.pid.Equal(m.Who) })
	if i < 0 {
		return
	}
	c := s.children[i]
	s.children = slices.Delete(s.children, i, i+1)
	s.env.Directory.unregister(c.path, c.pid)
	reason := c.stopReason
	if reason == "" {
		reason = s.closing
	}
	if reason == "" {
		// The child stopped itself: a normal exit, not restarted.
		reason = "stopped"
	}
	s.publish(&event.ActorStopped{
		Name: c.path, PID: PIDString(c.pid), Supervisor: s.path, Reason: reason, At: s.cfg.clock.Now(),
	})
	for _, w := range c.waiters {
		ctx.Send(w, &StopChildResult{})
	}
}

// closeDown runs on Stopping and Restarting, before protoactor stops the
// children: pending backoff timers must not fire into the next incarnation
// or a dead actor.
func (s *supervisor) closeDown(why string, restart bool) {
	s.closing, s.restart = why, restart
	for id, t := range s.timers {
		t.Stop()
		delete(s.timers, id)
	}
}

// HandleFailure implements actor.SupervisorStrategy for our children.
//
//	child failed
//	  ├─ not ours, or we are closing ─────────────► stop it / ignore
//	  ├─ MaxRestarts < 0 ─────────────────────────► stop it (no escalation)
//	  ├─ failures in window > MaxRestarts ────────► give up: stop it, publish
//	  │                                             SupervisionEscalated, alert,
//	  │                                             escalate (or Emergency if TopLevel)
//	  └─ else targets by strategy ─┬─ backoff 0 ──► restart now
//	                               └─ backoff d ──► restart when timer fires
func (s *supervisor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, who *actor.PID, _ *actor.RestartStatistics, reason, message any) {
	s.ctl = sup
	c := s.findPID(who)
	if c == nil {
		if s.closing == "" {
			s.log.Warn("supervisor: stopping failed actor it does not supervise", slog.String("pid", PIDString(who)))
		}
		sup.StopChildren(who)
		return
	}
	if s.closing != "" || s.escalated || c.state == stopping {
		return
	}
	why := fmt.Sprint(reason)
	if s.cfg.MaxRestarts < 0 {
		c.state, c.stopReason = stopping, "failed: "+why
		sup.StopChildren(c.pid)
		return
	}
	now := s.cfg.clock.Now()
	c.failures = append(c.failures, now)
	c.failures = slices.DeleteFunc(c.failures, func(t time.Time) bool { return now.Sub(t) >= s.cfg.Window })
	n := len(c.failures)
	if n > s.cfg.MaxRestarts {
		s.giveUp(c, reason, why, message)
		return
	}
	targets := s.targets(c)
	delay := s.cfg.Backoff.Delay(n)
	reasons := make([]string, len(targets))
	for i, t := range targets {
		reasons[i] = why
		if t != c {
			reasons[i] = fmt.Sprintf("sibling %s failed (%s): %s", c.spec.Name, s.cfg.Strategy, why)
		}
	}
	if delay <= 0 {
		s.restartNow(targets, reasons, 0)
		return
	}
	if s.timers == nil {
		s.timers = make(map[uint64]timer)
	}
	s.nextID++
	id, self, sys := s.nextID, s.self, s.sys
	for i, t := range targets {
		t.state, t.pendingID, t.pendingReason, t.pendingDelay = restarting, id, reasons[i], delay
	}
	s.timers[id] = s.cfg.clock.AfterFunc(delay, func() { sys.Root.Send(self, &restartDue{id: id}) })
}

// targets are the live children a failure of c restarts, in order.
func (s *supervisor) targets(c *child) []*child {
	switch s.cfg.Strategy {
	case AllForOne:
		return s.live(s.children, c)
	case RestForOne:
		i := slices.Index(s.children, c)
		return s.live(s.children[i:], c)
	default:
		return []*child{c}
	}
}

func (s *supervisor) live(cs []*child, failed *child) []*child {
	out := make([]*child, 0, len(cs))
	for _, k := range cs {
		if k == failed || k.state != stopping {
			out = append(out, k)
		}
	}
	return out
}

func (s *supervisor) restartNow(targets []*child, reasons []string, delay time.Duration) {
	pids := make([]*actor.PID, len(targets))
	for i, t := range targets {
		t.state, t.pendingID = running, 0
		t.restarts++
		pids[i] = t.pid
		s.env.Directory.setRestarts(t.path, t.pid, t.restarts)
	}
	s.ctl.RestartChildren(pids...)
	now := s.cfg.clock.Now()
	for i, t := range targets {
		s.publish(&event.ActorRestarted{
			Name: t.path, PID: PIDString(t.pid), Supervisor: s.path, Reason: reasons[i],
			Restarts: t.restarts, Backoff: delay, At: now,
		})
	}
}

func (s *supervisor) restartDue(id uint64) {
	if _, ok := s.timers[id]; !ok {
		return // cancelled, or from a previous incarnation
	}
	delete(s.timers, id)
	var targets []*child
	var reasons []string
	var delay time.Duration
	for _, c := range s.children {
		if c.pendingID == id && c.state == restarting {
			targets = append(targets, c)
			reasons = append(reasons, c.pendingReason)
			delay = c.pendingDelay
		}
	}
	if len(targets) > 0 {
		s.restartNow(targets, reasons, delay)
	}
}

func (s *supervisor) giveUp(c *child, reason any, why string, message any) {
	restarts := len(c.failures) - 1
	c.state, c.stopReason = stopping, "gave up: "+why
	s.ctl.StopChildren(c.pid)
	gaveUp := &GaveUpError{Supervisor: s.path, Child: c.path, Restarts: restarts, Window: s.cfg.Window, Cause: reason}
	s.publish(&event.SupervisionEscalated{
		Supervisor: s.path, Child: c.path, Reason: why, Restarts: restarts, Window: s.cfg.Window, At: s.cfg.clock.Now(),
	})
	s.log.Error("supervisor: giving up on child", slog.String("child", c.path), slog.String("reason", why))
	if s.cfg.TopLevel {
		s.raise(algedonic.Emergency, gaveUp.Error())
		return
	}
	s.raise(algedonic.Critical, gaveUp.Error())
	s.escalated = true
	s.ctl.EscalateFailure(gaveUp, message)
}

func (s *supervisor) find(name string) *child {
	for _, c := range s.children {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}

func (s *supervisor) findPID(pid *actor.PID) *child {
	for _, c := range s.children {
		if c.pid.Equal(pid) {
			return c
		}
	}
	return nil
}

func (s *supervisor) snapshot() *Children {
	out := make([]ChildInfo, len(s.children))
	for i, c := range s.children {
		out[i] = ChildInfo{
			Name: c.spec.Name, Path: c.path, PID: c.pid, Kind: c.spec.Kind, Restarts: c.restarts, State: c.state.String(),
		}
	}
	return &Children{Children: out}
}

func (s *supervisor) respond(ctx actor.Context, to *actor.PID, msg any) {
	if to != nil {
		ctx.Send(to, msg)
	}
}

func (s *supervisor) publish(ev event.Event) {
	if s.env.Events != nil {
		s.env.Events.Publish(ev)
	}
}

func (s *supervisor) raise(sev algedonic.Severity, reason string) {
	if s.env.Alerts != nil {
		s.env.Alerts.Raise(sev, displayPath(s.path), reason)
	}
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "/" + name
}

// displayPath names the root supervisor in logs and alerts.
func displayPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
