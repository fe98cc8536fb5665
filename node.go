package vsm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"

	"github.com/viable-systems/vsm-connections/actors/health"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/internal/actorsys"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/systems"
	"github.com/viable-systems/vsm-connections/systems/s1"
	"github.com/viable-systems/vsm-connections/systems/s2"
	"github.com/viable-systems/vsm-connections/systems/s3"
	"github.com/viable-systems/vsm-connections/systems/s4"
	"github.com/viable-systems/vsm-connections/systems/s5"
	"github.com/viable-systems/vsm-connections/telemetry"
)

// Config is a node's configuration (see package config for the YAML form).
type Config = config.Config

// Event is implemented by every event on the node's stream; the catalogue is
// in package event.
type Event = event.Event

// Stable names of the node's supervisors.
const (
	S1   = s1.Name
	S2   = s2.Name
	S3   = s3.Name
	S4   = s4.Name
	S5   = s5.Name
	User = "user"
)

// startOrder is also the reverse of the stop order.
var startOrder = []string{S5, S4, S3, S2, S1, User}

var (
	// ErrStopped is returned by calls on a node that has been stopped.
	ErrStopped = errors.New("vsm: node stopped")
	// ErrNotFound is returned when no actor has the given stable name.
	ErrNotFound = errors.New("vsm: no such actor")
	// ErrNotStarted is returned by calls on a Node that Start did not
	// return.
	ErrNotStarted = errors.New("vsm: node not started")
)

// Node is a running node. Its methods are safe for concurrent use.
type Node struct {
	cfg     *Config
	sys     *actor.ActorSystem
	root    *actor.PID
	dir     *supervisor.Directory
	senv    supervisor.Env
	alerts  *algedonic.Channel
	s5stats *s5.Stats
	s5lane  *algedonic.Lane // S5's alert lane: the channel posts here
	// The systems' APIs: they own the units; the node hands them out.
	s1 *s1.S1
	s2 *s2.S2 // set once S2's coordinators run
	s3 *s3.S3
	s4 *s4.S4
	// state is S1's Redis unit, set once it runs.
	state     *s1.State
	stateOpts stateOptions
	connOpts  connOptions // conns.go
	instance  string      // InstanceID
	probes    probeSet    // probes.go: readiness checks added in code
	// controlClock times S3's audit (nil: the wall clock); tests set it.
	controlClock health.Clock
	// retryDefaults come from fault_tolerance.
	retryDefaults []fault.Option
	registry      *prometheus.Registry
	logger        *zap.Logger
	started       time.Time

	mu       sync.Mutex // guards subs, and orders subscribe against Stop
	subs     map[*event.Subscription]struct{}
	stopped  atomic.Bool // from the first moment of Stop
	stopOnce sync.Once
	// done is closed when the root supervisor has terminated.
	done chan struct{}
	// subPanics counts contained panics of event subscribers.
	subPanics atomic.Uint64
	stopErr   error
}

// Start starts an actor system and the node's supervision tree, and returns
// once every system supervisor runs. cfg nil means config.Default(). On error
// nothing is left running.
func Start(ctx context.Context, cfg *Config, opts ...Option) (*Node, error) {
	o := options{logger: zap.NewNop()}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if cfg == nil {
		cfg = config.Default()
	}
	c := cfg.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c, err := c.ReadSecrets() // redis.password_file
	if err != nil {
		return nil, err
	}
	c = c.WithoutSource() // validated: positions are needed no more
	if o.registry == nil {
		o.registry = telemetry.NewRegistry() // with go_* and process_*
	}
	logger := o.logger.With(zap.String("node", c.Node.Name))
	slogger := slog.New(zapslog.NewHandler(logger.Core()))
	sys := actorsys.New(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slogger.With("lib", "protoactor")
	}),
		// protoactor parks a goroutine for one throttle interval after a
		// dead letter; a short interval lets Stop leave nothing behind.
		actor.WithDeadLetterThrottleInterval(100*time.Millisecond))
	n := &Node{
		cfg:       c,
		sys:       sys,
		dir:       supervisor.NewDirectory(),
		alerts:    algedonic.NewChannel(sys.Root, c.Node.Name),
		s5stats:   &s5.Stats{},
		s5lane:    algedonic.NewLane(),
		registry:  o.registry,
		logger:    logger,
		started:   time.Now(),
		subs:      map[*event.Subscription]struct{}{},
		stateOpts: o.state,
		connOpts:  o.conns,
		done:      make(chan struct{}),
	}
	n.controlClock = o.controlClock
	var metricsSub *event.Subscription
	m, err := telemetry.New(n.registry, func() uint64 {
		if metricsSub == nil {
			return 0
		}
		return metricsSub.Dropped()
	})
	if err != nil {
		return nil, fmt.Errorf("vsm: metrics: %w", err)
	}
	if err := telemetry.RegisterAlertLane(n.registry, n.s5lane); err != nil {
		return nil, fmt.Errorf("vsm: metrics: %w", err)
	}
	metricsSub = n.subscribe(m.Observe, event.WithBuffer(8192))

	n.senv = supervisor.Env{Directory: n.dir, Events: sys.EventStream, Alerts: n.alerts, Logger: slogger}
	sc := supervisor.Config{
		MaxRestarts: c.Supervision.MaxRestarts,
		Window:      c.Supervision.Window.D(),
		Backoff:     supervisor.Backoff{Initial: c.Supervision.BackoffInitial.D(), Max: c.Supervision.BackoffMax.D()},
	}
	s5env := s5.Env{
		Identity: s5.Identity{Node: c.Node.Name, Cluster: c.Node.Cluster, Started: n.started},
		Policy:   s5.Policy{LogMin: c.Algedonic.LogMin, PublishMin: c.Algedonic.PublishMin},
		Events:   sys.EventStream,
		Logger:   logger,
		Stats:    n.s5stats,
		Rules:    c.Algedonic.Policy, // bound to the units by startPolicy
		Lane:     n.s5lane,
	}
	rootCfg := sc
	rootCfg.TopLevel = true
	children := []supervisor.ChildSpec{
		s5.Spec(sc, n.senv, s5env),
		s4.Spec(sc, n.senv),
		s3.Spec(sc, n.senv),
		s2.Spec(sc, n.senv),
		s1.Spec(sc, n.senv),
		systems.Spec(User, sc, n.senv),
	}
	n.root, err = sys.Root.SpawnNamed(supervisor.Props("", rootCfg, n.senv, children...), rootName)
	if err != nil {
		n.shutdown(context.Background())
		return nil, fmt.Errorf("vsm: spawn root: %w", err)
	}
	w := &rootWatcher{root: n.root, done: n.done}
	if _, err := sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return w }), "vsm-root-watch"); err != nil {
		n.shutdown(context.Background())
		return nil, fmt.Errorf("vsm: spawn root watcher: %w", err)
	}
	if err := n.awaitTree(ctx); err != nil {
		n.shutdown(context.Background())
		return nil, err
	}
	policy, _ := n.dir.Lookup(S5 + "/" + s5.PolicyName)
	n.alerts.Bind(policy)
	n.alerts.BindLane(n.s5lane)
	// The node's connection parts, each in a file of its own, in dependency
	// order: pools use breakers and state.
	for _, part := range []struct {
		name  string
		start func(*Node, context.Context) error
	}{
		{"fault_tolerance", (*Node).startRetry},
		{"systems", (*Node).startSystems}, // units.go: the systems' APIs
		{"state", (*Node).startState},
		{"breakers", (*Node).startBreakers},
		{"health", (*Node).startHealth},
		{"checks", (*Node).startChecks},   // health.go: S4's checkers
		{"control", (*Node).startControl}, // health.go: S3's policies and audit, before the pools
		{"coordination", (*Node).startCoordination},
		{"pools", (*Node).startPools},
		{"metrics", (*Node).startMetrics},
		{"policy", (*Node).startPolicy}, // s5policy.go: after every unit it acts on
	} {
		if err := part.start(n, ctx); err != nil {
			n.shutdown(context.Background())
			return nil, fmt.Errorf("vsm: start %s: %w", part.name, err)
		}
	}
	logger.Info("node started", zap.String("cluster", c.Node.Cluster), zap.Strings("systems", startOrder))
	return n, nil
}

// awaitTree waits until every system supervisor has spawned its initial
// children: a reply to GetChildren comes after the Started that spawns them.
func (n *Node) awaitTree(ctx context.Context) error {
	if _, err := supervisor.List(ctx, n.sys.Root, n.root); err != nil {
		return fmt.Errorf("vsm: start root: %w", err)
	}
	for _, name := range startOrder {
		pid, ok := n.dir.Lookup(name)
		if !ok {
			return fmt.Errorf("vsm: start %s: %w", name, ErrNotFound)
		}
		if _, err := supervisor.List(ctx, n.sys.Root, pid); err != nil {
			return fmt.Errorf("vsm: start %s: %w", name, err)
		}
	}
	return nil
}

// DefaultStopTimeout bounds Stop when its ctx has no deadline.
const DefaultStopTimeout = 30 * time.Second

// Stop stops the systems in reverse order of start, waits for every actor to
// stop, ends every event subscription and releases the actor system. It
// returns by ctx's deadline (DefaultStopTimeout when ctx has none) whatever
// actors or subscribers do: what was still running then is named in a
// *StopError, and is left to stop on its own. It is idempotent: later calls
// return the first result.
func (n *Node) Stop(ctx context.Context) error {
	n.stopOnce.Do(func() {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, DefaultStopTimeout)
			defer cancel()
		}
		n.logger.Info("node stopping")
		n.stopErr = n.shutdown(ctx)
		if n.stopErr != nil {
			n.logger.Warn("node stopped with errors", zap.Error(n.stopErr))
		} else {
			n.logger.Info("node stopped")
		}
	})
	return n.stopErr
}

// StopError is returned by Stop when parts of the node were still running
// at its context's deadline. errors.Is matches the context's error.
type StopError struct {
	// Actors are the stable names of the actors still running, sorted.
	Actors []string
	// Subscribers is how many event subscribers had not returned from their
	// function.
	Subscribers int
	// Err is the context's error.
	Err error
}

func (e *StopError) Error() string {
	var b strings.Builder
	b.WriteString("vsm: stop: ")
	b.WriteString(e.Err.Error())
	b.WriteString(": still running:")
	const show = 10
	if len(e.Actors) > 0 {
		b.WriteString(" actors ")
		b.WriteString(strings.Join(e.Actors[:min(len(e.Actors), show)], ", "))
		if len(e.Actors) > show {
			fmt.Fprintf(&b, " and %d more", len(e.Actors)-show)
		}
	}
	if e.Subscribers > 0 {
		if len(e.Actors) > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %d event subscriber(s)", e.Subscribers)
	}
	return b.String()
}

func (e *StopError) Unwrap() error { return e.Err }

func (n *Node) shutdown(ctx context.Context) error {
	n.mu.Lock()
	n.stopped.Store(true)
	n.mu.Unlock()
	var errs []error
	late := false
	// The actors get the budget less a reserve, so that subscribers that
	// are merely exiting can still be waited for when an actor is stuck.
	actx := ctx
	if dl, ok := ctx.Deadline(); ok {
		reserve := min(time.Until(dl)/10, 100*time.Millisecond)
		var cancel context.CancelFunc
		actx, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
		defer cancel()
	}
	// note classifies a failed step: past the deadline it is summed up by
	// the StopError; before it, it is an error of its own.
	note := func(what string, err error) {
		switch {
		case err == nil || errors.Is(err, supervisor.ErrNoChild) || errors.Is(err, supervisor.ErrStopped):
			// Gone already: the root gave up and stopped the tree.
		case actx.Err() != nil:
			late = true
		default:
			errs = append(errs, fmt.Errorf("vsm: stop %s: %w", what, err))
		}
	}
	if n.root != nil {
		for i := len(startOrder) - 1; i >= 0 && !late; i-- {
			note(startOrder[i], supervisor.Stop(actx, n.sys.Root, n.root, startOrder[i]))
		}
		if !late {
			note("root", n.stopActor(actx, n.root))
		}
		if late {
			// Whatever has not stopped is told to, without waiting.
			n.sys.Root.Stop(n.root)
		}
	}
	n.closeConns(ctx) // conns.go: after the connection actors
	n.closeState()    // state.go: after every actor that uses the store
	n.alerts.BindLane(nil)
	n.alerts.Bind(nil)
	n.mu.Lock()
	subs := n.subs
	n.subs = map[*event.Subscription]struct{}{}
	n.mu.Unlock()
	for s := range subs {
		s.Cancel()
	}
	stuck := 0
	for s := range subs {
		if s.WaitContext(ctx) != nil {
			stuck++
		}
	}
	n.sys.Shutdown()
	if late || stuck > 0 {
		cause := ctx.Err()
		if cause == nil {
			cause = actx.Err()
		}
		running := slices.DeleteFunc(n.dir.Names(), func(name string) bool { return name == "" }) // "" is the root
		errs = append(errs, &StopError{Actors: running, Subscribers: stuck, Err: cause})
	}
	return errors.Join(errs...)
}

// Done is closed once the node's supervision tree has stopped: after Stop,
// or when the root supervisor gave up (a failure escalated to the top past
// its restart intensity, an Emergency alert). A daemon should exit then, as
// an OTP node whose top supervisor died: nothing supervises any longer.
func (n *Node) Done() <-chan struct{} { return n.done }

// rootWatcher closes the node's done channel when the root terminates.
type rootWatcher struct {
	root *actor.PID
	done chan struct{}
}

func (w *rootWatcher) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		c.Watch(w.root)
	case *actor.Terminated:
		if m.Who.Equal(w.root) {
			close(w.done)
			c.Stop(c.Self())
		}
	}
}

func (n *Node) stopActor(ctx context.Context, pid *actor.PID) error {
	done := make(chan error, 1)
	go func() { done <- n.sys.Root.StopFuture(pid).Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Name is the node's name (node.name in the config).
func (n *Node) Name() string { return n.cfg.Node.Name }

// Config returns the node's configuration with defaults applied. The caller
// must not modify it.
func (n *Node) Config() *Config { return n.cfg }

// ActorSystem is the node's actor system, for users who spawn their own
// actors or use protoactor directly.
func (n *Node) ActorSystem() *actor.ActorSystem { return n.sys }

// Root is the actor system's root context.
func (n *Node) Root() *actor.RootContext { return n.sys.Root }

// Logger is the node's logger.
func (n *Node) Logger() *zap.Logger { return n.logger }

// Registry is the node's Prometheus registry; /metrics serves it.
func (n *Node) Registry() *prometheus.Registry { return n.registry }

// Lookup returns the PID of the actor with the given stable name, such as
// "s1", "s5/policy" or "s1/breaker/api".
func (n *Node) Lookup(name string) (*actor.PID, bool) { return n.dir.Lookup(name) }

// Tree is a snapshot of the supervision tree.
func (n *Node) Tree() supervisor.TreeNode { return n.dir.Tree() }

// SupervisorEnv is what a supervisor built with supervisor.Props needs to
// take part in this node's tree: the directory, event stream and alerts.
func (n *Node) SupervisorEnv() supervisor.Env { return n.senv }

// StartChild adds a child to the supervisor with the given stable name (a
// system such as S1, "user", or any supervisor below them). The systems
// add their own children themselves (packages systems/s1 … s5); this is
// for children of the caller's.
func (n *Node) StartChild(ctx context.Context, supervisorName string, spec supervisor.ChildSpec) (*actor.PID, error) {
	if n.isStopped() {
		return nil, ErrStopped
	}
	sup, ok := n.dir.Lookup(supervisorName)
	if !ok {
		return nil, fmt.Errorf("vsm: supervisor %q: %w", supervisorName, ErrNotFound)
	}
	return supervisor.Start(ctx, n.sys.Root, sup, spec)
}

// Spawn starts a user actor, supervised by the node's user supervisor
// (one-for-one with the node's restart intensity), under the stable name
// "user/<name>".
func (n *Node) Spawn(ctx context.Context, name string, props *actor.Props) (*actor.PID, error) {
	return n.StartChild(ctx, User, supervisor.ChildSpec{Name: name, Props: props})
}

// SpawnSupervisor starts a supervisor of the user's own, with its own
// strategy and restart intensity, under "user/<name>"; its children are
// named "user/<name>/<child>".
func (n *Node) SpawnSupervisor(ctx context.Context, name string, cfg supervisor.Config, children ...supervisor.ChildSpec) (*actor.PID, error) {
	props := supervisor.Props(User+"/"+name, cfg, n.senv, children...)
	pid, err := n.StartChild(ctx, User, supervisor.ChildSpec{Name: name, Kind: "supervisor", Props: props})
	if err != nil {
		return nil, err
	}
	// Its children are spawned when it handles Started; a reply to List
	// comes after that, so they can be looked up once this returns.
	if _, err := supervisor.List(ctx, n.sys.Root, pid); err != nil {
		return nil, err
	}
	return pid, nil
}

// Alerts is the node's algedonic channel: give it to actors that raise
// alerts. It is safe for concurrent use.
func (n *Node) Alerts() *algedonic.Channel { return n.alerts }

// Raise sends an alert straight to System 5.
func (n *Node) Raise(sev algedonic.Severity, source, reason string) error {
	if !sev.Valid() {
		return fmt.Errorf("vsm: raise: %w %d", algedonic.ErrSeverity, int8(sev))
	}
	if n.isStopped() {
		return ErrStopped
	}
	n.alerts.Raise(sev, source, reason)
	return nil
}

// AlertCount is how many alerts of a severity System 5 has received.
func (n *Node) AlertCount(sev algedonic.Severity) uint64 { return n.s5stats.Count(sev) }

func (n *Node) isStopped() bool { return n.stopped.Load() }

// AddReaction makes System 5 run fn for every alert it accepts, after
// logging and publishing it. fn runs on S5's alert lane, often on the
// goroutine that raised the alert, one alert at a time: it must be quick,
// must not block and must not wait for S5. AddReaction returns once the
// reaction is installed.
func (n *Node) AddReaction(ctx context.Context, name string, fn s5.Reaction) error {
	if n.isStopped() {
		return ErrStopped
	}
	pid, ok := n.dir.Lookup(S5 + "/" + s5.PolicyName)
	if !ok {
		return fmt.Errorf("vsm: %s/%s: %w", S5, s5.PolicyName, ErrNotFound)
	}
	n.sys.Root.Send(pid, &s5.AddReaction{Name: name, Fn: fn})
	// A reply to a later message from the same sender proves it was applied.
	_, err := ask.Ask[*s5.Pong](ctx, n.sys.Root, pid, &s5.Ping{})
	return err
}
