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
// in order, each once the previous one has handled Started, registering
// each under path+"/"+Name (Name alone when path is ""), and it applies cfg
// when one fails or exits.
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
	}, actor.WithReceiverMiddleware(interceptControl))
}

// interceptControl turns the two protoactor messages whose default handling
// would break the supervision contract into our own: PoisonPill (protoactor
// would stop every child at once) and Touch (protoactor would answer before
// our children have started).
func interceptControl(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
		switch env.Message.(type) {
		case *actor.PoisonPill:
			env = &actor.MessageEnvelope{Message: &poisonReq{restart: env.GetHeader(restartHeader) != ""}}
		case *actor.Touch:
			env = &actor.MessageEnvelope{Message: &touchReq{replyTo: env.Sender}}
		}
		next(c, env)
	}
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
	running  childState = iota // started
	starting                   // spawned or restarted; Started not yet acknowledged
	stopping                   // asked to stop; Terminated not yet seen
	failed                     // crashed: suspended by protoactor until restarted or stopped
	down                       // terminated; waiting to be spawned again
)

func (s childState) String() string {
	switch s {
	case running:
		return "running"
	case starting:
		return "starting"
	case stopping:
		return "stopping"
	default:
		return "restarting"
	}
}

// How a child the supervisor stopped went (event.ActorShutdown.How).
const (
	howGraceful = "graceful"
	howForced   = "forced"
	howBrutal   = "brutal_kill"
	howCrashed  = "crashed"
)

type child struct {
	spec     ChildSpec
	path     string
	pid      *actor.PID
	seq      uint64 // directory start order, kept across restarts
	restarts int    // since spawned by this incarnation of the supervisor
	failures []time.Time
	state    childState

	forget      bool   // once terminated it is removed for good
	stopReason  string // ActorStopped.Reason when forgotten
	selfExit    bool   // it terminated by itself (for auto-shutdown)
	how         string // how the supervisor's stop went
	stopTimer   uint64 // pending shutdown timeout
	pendingStop int    // stop steps queued for it
	waiters     []*actor.PID

	ack    *actor.PID // pending start acknowledgement
	ackGen uint64
}

// A job is a sequence of steps run one at a time: a restart (stop the
// targets in reverse start order, wait the backoff, start them in start
// order), a request (StartChild, StopChild), the initial start, or a
// shutdown. Jobs run one after another, as OTP's supervisor handles one
// thing at a time; a step that waits (for Terminated, for a start
// acknowledgement, for a timer) holds the queue.
type job struct {
	request bool // GetChildren waits for it
	steps   []*step
	i       int
	// abort answers or defers the requester of a job dropped because the
	// supervisor is going away.
	abort func(restart bool)
}

type stepOp int

const (
	opStop    stepOp = iota // stop c; done once it has terminated
	opRestart               // start c again; done once it has started (or failed)
	opSpawn                 // spawn spec as a new child; done once it has started
	opDelay                 // wait a backoff
	opDo                    // run do
	opAwait                 // wait until none of the children of wait is starting
)

type step struct {
	op      stepOp
	c       *child
	spec    ChildSpec
	reason  string // opStop: stop reason when forgetting; opRestart: ActorRestarted reason
	forget  bool
	dynamic bool // opSpawn of StartChild: the spec joins the kept specs
	// opSpawn of StartChildren: nowait does not wait for the child's
	// Started (an opAwait after the batch does); batch is shared by the
	// batch's spawns, and its first error skips the spawns after it.
	nowait bool
	batch  *batch
	wait   []*step // opAwait: the spawns it waits for
	delay  time.Duration
	do     func()
	err    error // opSpawn
	begun  bool
	fired  bool
	timer  uint64
}

// batch is the state shared by the spawns of one StartChildren.
type batch struct{ err error }

type supervisor struct {
	path   string
	cfg    Config
	env    Env
	log    *slog.Logger
	shared *shared

	sys      *actor.ActorSystem
	self     *actor.PID
	actx     actor.Context    // our own context; protoactor keeps one per actor
	ctl      actor.Supervisor // the same context, as a Supervisor
	children []*child
	// byName and acks index children: with 10,000 children a scan per
	// spawn and per start acknowledgement made a node's start quadratic.
	byName   map[string]*child // by spec name; the members of children
	acks     map[uint64]*child // by pending ackGen
	failures []time.Time       // restart intensity, unless IntensityPerChild
	timers   map[uint64]timer
	nextID   uint64
	ackGen   uint64

	cur       *job
	jobs      []*job
	advancing bool

	inited       bool         // initial children started
	touchWaiters []*actor.PID // parents waiting for that

	closing   string // why we are stopping or restarting; "" while alive
	restart   bool   // requests are deferred to the next incarnation
	keepSpecs bool   // our parent will spawn us again: keep the child specs
}

// The supervisor actor is its own strategy: protoactor calls HandleFailure
// on the supervisor's goroutine, so it can read the ordered child list.
var _ actor.SupervisorStrategy = (*supervisor)(nil)

func (s *supervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.started(ctx)
	case *StartChild:
		s.startChild(m, ctx.Sender())
	case *StartChildren:
		s.startChildren(m, ctx.Sender())
	case *StopChild:
		s.stopChild(m, ctx.Sender())
	case *GetChildren:
		s.getChildren(m, ctx.Sender())
	case *restartDue:
		s.delayDue(m.id)
	case *shutdownDue:
		s.shutdownDue(m.id)
	case *startAck:
		s.startAck(m.gen)
	case *touchReq:
		s.touched(m.replyTo)
	case *poisonReq:
		s.poisoned(m.restart)
	case *actor.Terminated:
		s.terminated(m)
	case *actor.Restarting:
		s.closeDown("supervisor restarting", true)
	case *actor.Stopping:
		s.closeDown("supervisor stopping", false)
	case *actor.Stopped:
		s.env.Directory.unregister(s.path, ctx.Self())
		if s.keepSpecs {
			return // our parent spawns us again; the deferred requests wait for it
		}
		// Requests deferred by a restart that turned into a stop.
		for _, d := range s.shared.takeDeferred() {
			gone := s.stoppedErr()
			switch d.msg.(type) {
			case *StartChild:
				s.respond(d.replyTo, &StartChildResult{Err: gone})
			case *StartChildren:
				s.respond(d.replyTo, &StartChildrenResult{Err: gone})
			case *StopChild:
				s.respond(d.replyTo, &StopChildResult{Err: gone})
			case *GetChildren:
				s.respond(d.replyTo, &Children{})
			}
		}
		s.shared.reset()
	case *actor.ReceiveTimeout, actor.AutoRespond:
		// AutoRespond (*actor.Touch): our parent's start acknowledgement,
		// answered by protoactor after Receive.
	default:
		s.log.Warn("supervisor: ignoring unknown message", slog.String("type", fmt.Sprintf("%T", m)))
	}
}

// started spawns the children one after another, each once the previous
// one has handled Started, then answers the parent's Touch and replays
// the requests deferred by a restart.
func (s *supervisor) started(ctx actor.Context) {
	s.sys, s.self, s.actx = ctx.ActorSystem(), ctx.Self(), ctx
	s.ctl, _ = ctx.(actor.Supervisor)
	s.env.Directory.registerSelf(s.path, s.self, Intensity{
		Strategy: s.cfg.Strategy, MaxRestarts: s.cfg.MaxRestarts, Window: s.cfg.Window, PerChild: s.cfg.IntensityPerChild,
	})
	var steps []*step
	for _, spec := range s.shared.init() {
		st := &step{op: opSpawn, spec: spec}
		steps = append(steps, st)
	}
	steps = append(steps, &step{op: opDo, do: func() {
		for _, st := range steps {
			if st.op == opSpawn && st.err != nil {
				s.log.Error("supervisor: cannot spawn child", slog.String("child", st.spec.Name), slog.Any("err", st.err))
			}
		}
		s.inited = true
		for _, w := range s.touchWaiters {
			s.respond(w, &actor.Touched{Who: s.self})
		}
		s.touchWaiters = nil
		for _, d := range s.shared.takeDeferred() {
			switch m := d.msg.(type) {
			case *StartChild:
				s.startChild(m, d.replyTo)
			case *StartChildren:
				s.startChildren(m, d.replyTo)
			case *StopChild:
				s.stopChild(m, d.replyTo)
			case *GetChildren:
				s.getChildren(m, d.replyTo)
			}
		}
	}})
	s.enqueue(&job{request: true, steps: steps})
}

func (s *supervisor) touched(replyTo *actor.PID) {
	if replyTo == nil {
		return
	}
	if s.inited {
		s.respond(replyTo, &actor.Touched{Who: s.self})
		return
	}
	s.touchWaiters = append(s.touchWaiters, replyTo)
}

func validate(spec ChildSpec) error {
	switch {
	case spec.Name == "":
		return fmt.Errorf("%w: empty name", ErrInvalidSpec)
	case spec.Props == nil:
		return fmt.Errorf("%w: %q has no props", ErrInvalidSpec, spec.Name)
	case spec.Kind != "" && spec.Kind != KindWorker && spec.Kind != KindSupervisor:
		return fmt.Errorf("%w: %q has unknown kind %q", ErrInvalidSpec, spec.Name, spec.Kind)
	case spec.Restart < Permanent || spec.Restart > Temporary:
		return fmt.Errorf("%w: %q has unknown restart type %d", ErrInvalidSpec, spec.Name, int(spec.Restart))
	case spec.Shutdown < ShutdownBrutalKill:
		return fmt.Errorf("%w: %q has negative shutdown %s", ErrInvalidSpec, spec.Name, spec.Shutdown)
	case spec.Significant && spec.Restart == Permanent:
		return fmt.Errorf("%w: %q is significant and permanent (a significant child must be transient or temporary)", ErrInvalidSpec, spec.Name)
	}
	return nil
}

// validateFor adds the checks that depend on the supervisor's config.
func (s *supervisor) validateFor(spec ChildSpec) error {
	if err := validate(spec); err != nil {
		return err
	}
	if spec.Significant && s.cfg.AutoShutdown == Never {
		return fmt.Errorf("%w: %q is significant but the supervisor's auto_shutdown is never", ErrInvalidSpec, spec.Name)
	}
	return nil
}

// spawn starts spec as a new child at the end of the child list.
func (s *supervisor) spawn(spec ChildSpec) (*child, error) {
	if err := s.validateFor(spec); err != nil {
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
	c := &child{spec: spec, path: path}
	if err := s.spawnInstance(c); err != nil {
		return nil, err
	}
	s.children = append(s.children, c)
	if s.byName == nil {
		s.byName = make(map[string]*child)
	}
	s.byName[spec.Name] = c
	s.publish(&event.ActorStarted{
		Name: path, PID: PIDString(c.pid), Supervisor: s.path, ActorKind: spec.Kind, At: s.cfg.clock.Now(),
	})
	s.touch(c)
	return c, nil
}

// spawnInstance spawns c's actor, registered under its stable name.
func (s *supervisor) spawnInstance(c *child) error {
	// Register before spawning: a child supervisor registers itself on
	// Started, which may run before SpawnNamed returns, and must find its
	// parent link already there. protoactor names children self.Id+"/"+name.
	want := actor.NewPID(s.self.Address, s.self.Id+"/"+c.spec.Name)
	c.seq = s.env.Directory.register(c.path, want, c.spec.Kind, s.path, c.seq, c.restarts)
	pid, err := s.actx.SpawnNamed(c.spec.Props, c.spec.Name)
	if err != nil {
		s.env.Directory.unregister(c.path, want)
		if errors.Is(err, actor.ErrNameExists) {
			return fmt.Errorf("%w: %q: %w", ErrDuplicateChild, c.spec.Name, err)
		}
		return fmt.Errorf("supervisor: spawn %q: %w", c.spec.Name, err)
	}
	if !pid.Equal(want) { // a spawn middleware chose another id
		s.env.Directory.unregister(c.path, want)
		s.env.Directory.register(c.path, pid, c.spec.Kind, s.path, c.seq, c.restarts)
	}
	c.pid, c.state = pid, starting
	return nil
}

// touch asks c to acknowledge its start: it answers Touch after Started.
func (s *supervisor) touch(c *child) {
	s.dropAck(c)
	s.ackGen++
	proc := &ackProcess{sys: s.sys, sup: s.self, gen: s.ackGen}
	reg := s.sys.ProcessRegistry
	pid, ok := reg.Add(proc, "supervisor$ack"+reg.NextId())
	if !ok {
		c.state = running // cannot wait; do not hold the queue
		return
	}
	c.ack, c.ackGen = pid, s.ackGen
	if s.acks == nil {
		s.acks = make(map[uint64]*child)
	}
	s.acks[c.ackGen] = c
	s.actx.RequestWithCustomSender(c.pid, &actor.Touch{}, pid)
}

func (s *supervisor) dropAck(c *child) {
	if c.ack != nil {
		s.sys.ProcessRegistry.Remove(c.ack)
	}
	if c.ackGen != 0 {
		delete(s.acks, c.ackGen)
	}
	c.ack, c.ackGen = nil, 0
}

func (s *supervisor) startAck(gen uint64) {
	c, ok := s.acks[gen]
	if !ok || gen == 0 {
		return
	}
	delete(s.acks, gen)
	c.ack, c.ackGen = nil, 0
	if c.state == starting {
		c.state = running
	}
	s.advance()
}

func (s *supervisor) startChild(m *StartChild, replyTo *actor.PID) {
	if s.closed(m, replyTo, func(err error) any { return &StartChildResult{Err: err} }) {
		return
	}
	if err := s.validateFor(m.Spec); err != nil {
		s.respond(replyTo, &StartChildResult{Err: err})
		return
	}
	sp := &step{op: opSpawn, spec: m.Spec, dynamic: true}
	reply := &step{op: opDo}
	reply.do = func() {
		if sp.err != nil {
			s.respond(replyTo, &StartChildResult{Err: sp.err})
			return
		}
		s.respond(replyTo, &StartChildResult{PID: sp.c.pid})
	}
	s.enqueue(&job{request: true, steps: []*step{sp, reply}, abort: func(restart bool) {
		switch {
		case !sp.begun && restart:
			s.deferRequest(m, replyTo)
		case !sp.begun:
			s.respond(replyTo, &StartChildResult{Err: s.stoppedErr()})
		case !reply.begun:
			reply.do()
		}
	}})
}

// startChildren is StartChild for several specs in one job: under
// one_for_one the spawns do not wait for each other, and an opAwait waits
// for all of their Started; otherwise each waits for the previous one.
func (s *supervisor) startChildren(m *StartChildren, replyTo *actor.PID) {
	if s.closed(m, replyTo, func(err error) any { return &StartChildrenResult{Err: err} }) {
		return
	}
	if len(m.Specs) == 0 {
		s.respond(replyTo, &StartChildrenResult{})
		return
	}
	b := &batch{}
	nowait := s.cfg.Strategy == OneForOne
	spawns := make([]*step, len(m.Specs))
	steps := make([]*step, 0, len(m.Specs)+2)
	for i, spec := range m.Specs {
		spawns[i] = &step{op: opSpawn, spec: spec, dynamic: true, nowait: nowait, batch: b}
		steps = append(steps, spawns[i])
	}
	if nowait {
		steps = append(steps, &step{op: opAwait, wait: slices.Clone(spawns)})
	}
	result := func() *StartChildrenResult {
		res := &StartChildrenResult{Err: b.err}
		for _, sp := range spawns {
			if sp.c == nil || sp.err != nil {
				break
			}
			res.PIDs = append(res.PIDs, sp.c.pid)
		}
		return res
	}
	reply := &step{op: opDo, do: func() { s.respond(replyTo, result()) }}
	steps = append(steps, reply)
	s.enqueue(&job{request: true, steps: steps, abort: func(restart bool) {
		switch {
		case !spawns[0].begun && restart:
			s.deferRequest(m, replyTo)
		case !spawns[0].begun:
			s.respond(replyTo, &StartChildrenResult{Err: s.stoppedErr()})
		case !reply.begun:
			res := result()
			if res.Err == nil && len(res.PIDs) < len(spawns) {
				res.Err = s.stoppedErr()
			}
			s.respond(replyTo, res)
		}
	}})
}

// stoppedErr is what a request gets when this supervisor is stopping for
// good.
func (s *supervisor) stoppedErr() error { return fmt.Errorf("%w: %s", ErrStopped, s.closing) }

// closed handles a request that arrives while we close: kept for the next
// incarnation when we stop for a restart, else answered with refuse's
// reply to ErrStopped. It reports whether the request was handled so.
func (s *supervisor) closed(m any, replyTo *actor.PID, refuse func(error) any) bool {
	if s.closing == "" {
		return false
	}
	if s.restart {
		s.deferRequest(m, replyTo)
	} else {
		s.respond(replyTo, refuse(s.stoppedErr()))
	}
	return true
}

// deferRequest keeps a request that arrives while we stop our children for
// a restart: spawning now would add a child the restart then waits for
// forever, and the answer would describe a dying incarnation.
func (s *supervisor) deferRequest(m any, replyTo *actor.PID) {
	s.log.Debug("supervisor: deferring request until restarted", slog.String("type", fmt.Sprintf("%T", m)))
	s.shared.deferMsg(deferredMsg{msg: m, replyTo: replyTo})
}

func (s *supervisor) stopChild(m *StopChild, replyTo *actor.PID) {
	if s.closed(m, replyTo, func(err error) any { return &StopChildResult{Err: err} }) {
		return
	}
	c := s.find(m.Name)
	if c == nil {
		s.respond(replyTo, &StopChildResult{Err: fmt.Errorf("%w: %q", ErrNoChild, m.Name)})
		return
	}
	s.shared.remove(m.Name)
	if replyTo != nil {
		c.waiters = append(c.waiters, replyTo) // answered when it is removed
	}
	s.enqueue(&job{request: true, steps: []*step{s.stopStep(c, true, "stopped by request")}})
}

// getChildren answers at once, unless a request or the initial start is
// under way: then after it, so that the answer reflects it.
func (s *supervisor) getChildren(m *GetChildren, replyTo *actor.PID) {
	if s.closing != "" && s.restart {
		s.deferRequest(m, replyTo)
		return
	}
	pending := s.cur != nil && s.cur.request
	for _, j := range s.jobs {
		pending = pending || j.request
	}
	if !pending {
		s.respond(replyTo, s.snapshot())
		return
	}
	st := &step{op: opDo, do: func() { s.respond(replyTo, s.snapshot()) }}
	s.enqueue(&job{steps: []*step{st}, abort: func(restart bool) {
		if restart {
			s.deferRequest(m, replyTo)
			return
		}
		st.do()
	}})
}

func (s *supervisor) enqueue(j *job) {
	s.jobs = append(s.jobs, j)
	s.advance()
}

// advance runs the current job's steps until one has to wait, then the
// next jobs. Every event a step may wait for calls it again.
func (s *supervisor) advance() {
	if s.advancing {
		return
	}
	s.advancing = true
	defer func() { s.advancing = false }()
	for {
		if s.cur == nil {
			if len(s.jobs) == 0 {
				return
			}
			s.cur = s.jobs[0]
			// Cut the queue's hold on it: the backing array outlives the
			// job, and a finished StartChildren holds a step per child.
			s.jobs[0] = nil
			s.jobs = s.jobs[1:]
		}
		j := s.cur
		for j.i < len(j.steps) && s.cur == j {
			st := j.steps[j.i]
			if !st.begun {
				st.begun = true
				s.begin(st)
				if s.cur != j {
					break // the step replaced the queue (a shutdown)
				}
			}
			if !s.finished(st) {
				return
			}
			j.i++
		}
		if s.cur == j {
			s.cur = nil
		}
	}
}

func (s *supervisor) begin(st *step) {
	switch st.op {
	case opStop:
		st.c.pendingStop--
		s.beginStop(st.c, st.forget, st.reason)
	case opRestart:
		s.beginRestart(st)
	case opSpawn:
		if st.batch != nil && st.batch.err != nil {
			return // an earlier spawn of the batch failed
		}
		st.c, st.err = s.spawn(st.spec)
		if st.err == nil && st.dynamic {
			s.shared.add(st.c.spec)
		}
		if st.err != nil && st.batch != nil {
			st.batch.err = fmt.Errorf("%w (child %q)", st.err, st.spec.Name)
		}
	case opDelay:
		st.timer = s.after(st.delay, func(id uint64) any { return &restartDue{id: id} })
	case opDo:
		st.do()
	}
}

func (s *supervisor) finished(st *step) bool {
	switch st.op {
	case opStop:
		return st.c.state == down || !s.has(st.c)
	case opRestart, opSpawn:
		return st.nowait || st.c == nil || !s.has(st.c) || st.c.state != starting
	case opAwait:
		for len(st.wait) > 0 {
			if w := st.wait[0]; w.c != nil && s.has(w.c) && w.c.state == starting {
				return false
			}
			st.wait = st.wait[1:] // started, failed or gone: no need to look again
		}
		return true
	case opDelay:
		return st.fired
	}
	return true
}

// stopStep is a step stopping c; until it runs, a failure of c is left to
// it (the crashed instance is stopped instead of poisoned).
func (s *supervisor) stopStep(c *child, forget bool, reason string) *step {
	c.pendingStop++
	return &step{op: opStop, c: c, forget: forget, reason: reason}
}

// beginStop stops c: poisoned first (graceful), stopped when its shutdown
// timeout elapses; a crashed child is just stopped.
func (s *supervisor) beginStop(c *child, forget bool, reason string) {
	if !s.has(c) {
		return
	}
	if forget && !c.forget {
		c.forget, c.stopReason = true, reason
	}
	switch c.state {
	case down:
		if c.forget {
			s.removeChild(c, c.stopReason)
		}
		return
	case stopping:
		return
	case failed:
		c.state, c.how = stopping, howCrashed
		s.actx.Stop(c.pid)
		return
	}
	s.dropAck(c)
	c.state = stopping
	sd := shutdownOf(c.spec)
	if sd == ShutdownBrutalKill {
		c.how = howBrutal
		s.actx.Stop(c.pid)
		return
	}
	c.how = howGraceful
	env := &actor.MessageEnvelope{Message: &actor.PoisonPill{}}
	if !c.forget {
		env.SetHeader(restartHeader, "1") // a supervisor child keeps its specs
	}
	s.actx.Send(c.pid, env)
	if sd != ShutdownInfinity {
		c.stopTimer = s.after(sd, func(id uint64) any { return &shutdownDue{id: id} })
	}
}

func shutdownOf(spec ChildSpec) time.Duration {
	switch {
	case spec.Shutdown != 0:
		return spec.Shutdown
	case spec.Kind == KindSupervisor:
		return ShutdownInfinity
	}
	return DefaultShutdown
}

func (s *supervisor) shutdownDue(id uint64) {
	delete(s.timers, id)
	for _, c := range s.children {
		if c.stopTimer == id && c.state == stopping {
			c.stopTimer, c.how = 0, howForced
			s.log.Warn("supervisor: child ignored its shutdown timeout; stopping it", slog.String("child", c.path))
			s.actx.Stop(c.pid)
			return
		}
	}
}

// beginRestart starts c again: in place when it crashed and is alone in
// its restart (protoactor keeps its mailbox, so the messages queued behind
// the panic reach the new instance), spawned anew when it was stopped.
func (s *supervisor) beginRestart(st *step) {
	c := st.c
	if !s.has(c) || c.forget {
		return
	}
	switch c.state {
	case failed:
		c.state = starting
		s.ctl.RestartChildren(c.pid)
	case down:
		if err := s.spawnInstance(c); err != nil {
			s.log.Error("supervisor: cannot restart child", slog.String("child", c.path), slog.Any("err", err))
			s.removeChild(c, "restart failed: "+err.Error())
			return
		}
	default:
		return // started again by an earlier job
	}
	c.restarts++
	s.env.Directory.setRestarts(c.path, c.pid, c.restarts)
	s.publish(&event.ActorRestarted{
		Name: c.path, PID: PIDString(c.pid), Supervisor: s.path, Reason: st.reason,
		Restarts: c.restarts, Backoff: st.delay, At: s.cfg.clock.Now(),
	})
	s.touch(c)
}

func (s *supervisor) delayDue(id uint64) {
	delete(s.timers, id)
	if s.cur == nil || s.cur.i >= len(s.cur.steps) {
		return
	}
	if st := s.cur.steps[s.cur.i]; st.op == opDelay && st.timer == id {
		st.fired = true
		s.advance()
	}
}

func (s *supervisor) after(d time.Duration, msg func(id uint64) any) uint64 {
	if s.timers == nil {
		s.timers = make(map[uint64]timer)
	}
	s.nextID++
	id, self, sys := s.nextID, s.self, s.sys
	s.timers[id] = s.cfg.clock.AfterFunc(d, func() { sys.Root.Send(self, msg(id)) })
	return id
}

func (s *supervisor) cancelTimer(id uint64) {
	if t, ok := s.timers[id]; ok {
		t.Stop()
		delete(s.timers, id)
	}
}

func (s *supervisor) terminated(m *actor.Terminated) {
	c := s.findPID(m.Who)
	if c == nil {
		return
	}
	s.dropAck(c)
	s.cancelTimer(c.stopTimer)
	c.stopTimer = 0
	s.env.Directory.unregister(c.path, c.pid)
	prev := c.state
	c.state = down
	switch {
	case prev == stopping:
		s.publish(&event.ActorShutdown{
			Name: c.path, PID: PIDString(c.pid), Supervisor: s.path, How: c.how, Timeout: shownTimeout(c), At: s.cfg.clock.Now(),
		})
		if c.forget {
			s.removeChild(c, c.stopReason)
		}
	case s.closing != "":
		reason := c.stopReason
		if reason == "" {
			reason = s.closing
		}
		s.removeChild(c, reason)
	case prev == failed:
		// Ended by someone else while waiting for its restart: the pending
		// restart spawns it anew.
	default:
		s.exited(c)
	}
	s.advance()
}

func shownTimeout(c *child) time.Duration {
	switch sd := shutdownOf(c.spec); {
	case c.how == howBrutal || c.how == howCrashed || sd == ShutdownInfinity:
		return 0
	default:
		return sd
	}
}

// exited handles a child that stopped by itself (a normal exit, or a stop
// from outside the supervisor).
func (s *supervisor) exited(c *child) {
	switch {
	case c.spec.Restart == Permanent && s.cfg.MaxRestarts >= 0:
		s.restartAfter(c, "exited", "exited", nil)
	default:
		if c.spec.Restart == Temporary {
			s.shared.remove(c.spec.Name)
		}
		c.selfExit = true
		s.removeChild(c, "stopped")
	}
}

// removeChild forgets c, which has terminated (or never came back).
func (s *supervisor) removeChild(c *child, reason string) {
	// From the end: a shutdown removes children in reverse start order,
	// which makes stopping 10,000 children linear, not quadratic.
	i := len(s.children) - 1
	for i >= 0 && s.children[i] != c {
		i--
	}
	if i < 0 {
		return
	}
	s.children = slices.Delete(s.children, i, i+1)
	delete(s.byName, c.spec.Name)
	s.dropAck(c)
	s.cancelTimer(c.stopTimer)
	s.env.Directory.unregister(c.path, c.pid)
	s.publish(&event.ActorStopped{
		Name: c.path, PID: PIDString(c.pid), Supervisor: s.path, Reason: reason, At: s.cfg.clock.Now(),
	})
	for _, w := range c.waiters {
		s.respond(w, &StopChildResult{})
	}
	c.waiters = nil
	if c.selfExit && c.spec.Significant && s.closing == "" {
		s.autoShutdown(c)
	}
}

// autoShutdown applies AutoShutdown after a significant child terminated
// by itself.
func (s *supervisor) autoShutdown(c *child) {
	switch s.cfg.AutoShutdown {
	case AnySignificant:
	case AllSignificant:
		if slices.ContainsFunc(s.children, func(k *child) bool { return k.spec.Significant }) {
			return
		}
	default:
		return
	}
	why := fmt.Sprintf("auto shutdown (%s): significant child %s terminated", s.cfg.AutoShutdown, c.spec.Name)
	s.log.Info("supervisor: shutting down", slog.String("reason", why))
	s.shutdown(why, false, func(*child) string { return why }, func() { s.actx.Stop(s.self) })
}

// closeDown runs on Stopping and Restarting, before protoactor stops the
// remaining children (all at once): pending timers must not fire into the
// next incarnation or a dead actor, and pending requests are answered or
// deferred.
func (s *supervisor) closeDown(why string, restart bool) {
	if s.closing == "" {
		s.closing = why
	}
	s.restart = restart
	s.abortJobs(restart)
	for id, t := range s.timers {
		t.Stop()
		delete(s.timers, id)
	}
	for _, c := range s.children {
		s.dropAck(c)
		c.stopTimer = 0
	}
	s.touchWaiters = nil
}

func (s *supervisor) abortJobs(restart bool) {
	all := s.jobs
	if s.cur != nil {
		all = append([]*job{s.cur}, all...)
		if s.cur.i < len(s.cur.steps) {
			if st := s.cur.steps[s.cur.i]; st.op == opDelay {
				s.cancelTimer(st.timer)
			}
		}
	}
	s.cur, s.jobs = nil, nil
	for _, j := range all {
		for _, st := range j.steps[j.i:] {
			if st.op == opStop && !st.begun {
				st.c.pendingStop--
			}
		}
		if j.abort != nil {
			j.abort(restart)
		}
	}
}

// shutdown drops every pending job and stops all children in reverse start
// order, forgetting them, then runs then.
func (s *supervisor) shutdown(why string, restart bool, reason func(*child) string, then func()) {
	s.abortJobs(restart)
	s.closing, s.restart = why, restart
	var steps []*step
	for i := len(s.children) - 1; i >= 0; i-- {
		c := s.children[i]
		steps = append(steps, s.stopStep(c, true, reason(c)))
	}
	steps = append(steps, &step{op: opDo, do: then})
	s.cur = &job{steps: steps}
	s.advance()
}

// poisoned is a graceful stop of this supervisor: children first, in
// reverse start order, each as its own shutdown says, then itself.
func (s *supervisor) poisoned(restart bool) {
	if s.closing != "" {
		return
	}
	s.keepSpecs = restart
	s.shutdown("supervisor stopping", restart, func(*child) string { return "supervisor stopping" }, func() { s.actx.Stop(s.self) })
}

// HandleFailure implements actor.SupervisorStrategy for our children.
//
//	child failed
//	  ├─ not ours ────────────────────────────────► stop it
//	  ├─ we are closing, or a queued job stops it ─► leave it to that
//	  ├─ temporary, or MaxRestarts < 0 ────────────► stop it for good
//	  ├─ restarts in window > MaxRestarts ─────────► give up: stop all children
//	  │                                              in reverse order, escalate
//	  └─ else queue a restart job of the strategy's targets
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
	switch c.state {
	case stopping:
		// It crashed while stopping (handling its queued messages): the
		// graceful stop is over.
		c.how = howCrashed
		sup.StopChildren(c.pid)
		return
	case failed, down:
		return
	}
	s.dropAck(c)
	c.state = failed
	if s.closing != "" || c.pendingStop > 0 {
		s.advance() // a start that waited for it is over
		return
	}
	why := fmt.Sprint(reason)
	if s.cfg.MaxRestarts < 0 || c.spec.Restart == Temporary {
		if c.spec.Restart == Temporary {
			s.shared.remove(c.spec.Name)
			c.selfExit = true
		}
		c.forget, c.stopReason = true, "failed: "+why
		c.state, c.how = stopping, howCrashed
		sup.StopChildren(c.pid)
		s.advance()
		return
	}
	s.restartAfter(c, why, reason, message)
	s.advance()
}

// restartAfter counts a restart of c (failed or exited) and queues it, or
// gives up when the intensity is exceeded.
func (s *supervisor) restartAfter(c *child, why string, reason, message any) {
	now := s.cfg.clock.Now()
	recent := func(ts []time.Time) []time.Time {
		ts = append(ts, now)
		return slices.DeleteFunc(ts, func(t time.Time) bool { return now.Sub(t) >= s.cfg.Window })
	}
	var n int
	if s.cfg.IntensityPerChild {
		c.failures = recent(c.failures)
		n = len(c.failures)
	} else {
		s.failures = recent(s.failures)
		n = len(s.failures)
	}
	if s.cfg.MaxRestarts >= 0 && n > s.cfg.MaxRestarts {
		s.giveUp(c, reason, why, message, n-1)
		return
	}
	targets := s.targets(c)
	delay := s.cfg.Backoff.Delay(n)
	group := len(targets) > 1
	var steps []*step
	// Stop in reverse start order. Alone, a crashed child is restarted in
	// place; a crashed supervisor has already stopped its children (it
	// gave up), so it too is restarted in place, keeping its specs.
	for i := len(targets) - 1; i >= 0; i-- {
		t := targets[i]
		if t == c && (!group || (c.state == failed && c.spec.Kind == KindSupervisor)) {
			continue
		}
		forget := t != c && t.spec.Restart == Temporary
		steps = append(steps, s.stopStep(t, forget, fmt.Sprintf("sibling %s failed (%s): temporary, not restarted", c.spec.Name, s.cfg.Strategy)))
	}
	if delay > 0 {
		steps = append(steps, &step{op: opDelay, delay: delay})
	}
	for _, t := range targets {
		if t != c && t.spec.Restart == Temporary {
			continue
		}
		r := why
		if t != c {
			r = fmt.Sprintf("sibling %s failed (%s): %s", c.spec.Name, s.cfg.Strategy, why)
		}
		steps = append(steps, &step{op: opRestart, c: t, reason: r, delay: delay})
	}
	s.enqueue(&job{steps: steps})
}

// targets are the children a failure of c restarts, in start order.
func (s *supervisor) targets(c *child) []*child {
	var from []*child
	switch s.cfg.Strategy {
	case AllForOne:
		from = s.children
	case RestForOne:
		from = s.children[slices.Index(s.children, c):]
	default:
		return []*child{c}
	}
	out := make([]*child, 0, len(from))
	for _, k := range from {
		if k == c || !k.forget {
			out = append(out, k)
		}
	}
	return out
}

// giveUp is the end of the restart intensity: every child is stopped in
// reverse start order, then the failure escalates to our parent (which
// restarts or stops us), or, at the top level, we stop.
func (s *supervisor) giveUp(c *child, reason any, why string, message any, restarts int) {
	gaveUp := &GaveUpError{Supervisor: s.path, Child: c.path, Restarts: restarts, Window: s.cfg.Window, Cause: reason}
	s.publish(&event.SupervisionEscalated{
		Supervisor: s.path, Child: c.path, Reason: why, Restarts: restarts, Window: s.cfg.Window, At: s.cfg.clock.Now(),
	})
	s.log.Error("supervisor: giving up", slog.String("child", c.path), slog.String("reason", why))
	// Alert before stopping anything: at the top level S5 is among the
	// children, and is stopped last.
	if s.cfg.TopLevel {
		s.raise(algedonic.Emergency, gaveUp.Error())
	} else {
		s.raise(algedonic.Critical, gaveUp.Error())
	}
	childReason := func(k *child) string {
		if k == c {
			return "gave up: " + why
		}
		return fmt.Sprintf("supervisor gave up (%s: %s)", c.spec.Name, why)
	}
	s.shutdown("gave up: "+gaveUp.Error(), !s.cfg.TopLevel, childReason, func() {
		if s.cfg.TopLevel {
			s.actx.Stop(s.self)
			return
		}
		// Our mailbox is suspended from here until the parent decides.
		s.ctl.EscalateFailure(gaveUp, message)
	})
}

func (s *supervisor) has(c *child) bool { return c != nil && s.byName[c.spec.Name] == c }

func (s *supervisor) find(name string) *child { return s.byName[name] }

func (s *supervisor) findPID(pid *actor.PID) *child {
	if pid == nil {
		return nil
	}
	// protoactor names a child self.Id+"/"+name, so the name finds it
	// without a scan; a spawn middleware may have chosen another id.
	if s.self != nil && len(pid.Id) > len(s.self.Id)+1 && pid.Id[:len(s.self.Id)] == s.self.Id && pid.Id[len(s.self.Id)] == '/' {
		if c := s.byName[pid.Id[len(s.self.Id)+1:]]; c != nil && c.pid.Equal(pid) {
			return c
		}
	}
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

func (s *supervisor) respond(to *actor.PID, msg any) {
	if to != nil {
		s.sys.Root.Send(to, msg)
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
