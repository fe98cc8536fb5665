package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/pb"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/event"
)

// Checker is the handle of one checker actor: its Props to spawn (under a
// supervisor) and its status, readable lock-free from any goroutine.
type Checker struct {
	st *checkState
}

// NewChecker validates spec and returns the handle of its checker. Spawn
// Props once (at a time): every incarnation made from it, restarts
// included, shares the handle's state, so a panic costs a restart and
// neither the status nor the counters.
func NewChecker(spec Spec, env Env) (*Checker, error) {
	spec, err := spec.normalized()
	if err != nil {
		return nil, err
	}
	env = env.normalized()
	if !slices.IsSorted(env.Buckets) {
		return nil, fmt.Errorf("%w %s: histogram buckets not ascending", ErrSpec, spec.Name)
	}
	st := &checkState{spec: spec, env: env, hist: newHistogram(env.Buckets)}
	st.publish()
	return &Checker{st: st}, nil
}

// Name is the check's name.
func (c *Checker) Name() string { return c.st.spec.Name }

// Spec is the check's spec with its defaults filled in.
func (c *Checker) Spec() Spec { return c.st.spec }

// Props produce the checker actor.
func (c *Checker) Props() *actor.Props {
	st := c.st
	return actor.PropsFromProducer(func() actor.Actor { return &checkerActor{checkState: st} })
}

// Status is the latest published snapshot (a copy).
func (c *Checker) Status() Snapshot { return c.st.snap.Load().clone() }

// PID is the running actor's PID, or nil before it started and after it
// stopped.
func (c *Checker) PID() *actor.PID { return c.st.pid.Load() }

// checkState outlives an actor instance. snap and pid are read from any
// goroutine; every other field is read and written only by the actor (one
// instance at a time, the mailbox orders them).
type checkState struct {
	spec Spec
	env  Env
	snap atomic.Pointer[Snapshot]
	pid  atomic.Pointer[actor.PID]

	status     Status
	since      time.Time
	succ, fail int
	okN, badN  uint64
	hist       Histogram
	recent     []Result

	// The probe in flight, if any: it survives a restart (its result
	// reaches the next instance, which has the same PID) and is cancelled
	// when the actor stops for good.
	life     context.Context
	stopLife context.CancelFunc
	inflight bool
	seq      uint64
	waiters  []waiter
	started  bool // the first probe has been scheduled once
	// gen numbers the timers; a tick of a replaced timer (also one queued
	// by a previous incarnation) is dropped.
	gen uint64
}

// Internal messages.
type (
	// tick is a timer's due probe; gen drops ticks of replaced timers.
	tick struct{ gen uint64 }
	// probeDone carries a probe's outcome back into the mailbox.
	probeDone struct {
		seq     uint64
		err     error
		latency time.Duration
		at      time.Time
	}
	// watched is sent by a prober that watches its target (gRPC Watch)
	// when the target's status changes: probe now.
	watched struct{}
)

// notifier is implemented by probers that learn of changes by themselves.
type notifier interface {
	setNotify(func())
}

type checkerActor struct {
	*checkState
	self  *actor.PID
	root  *actor.RootContext
	timer Timer
}

func (a *checkerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *actor.Restarting:
		a.stopTimer()
	case *actor.Stopping:
		a.halt()
	case *tick:
		if m.gen == a.gen && !a.inflight {
			a.probe()
		}
	case *watched:
		if !a.inflight {
			a.probe()
		}
	case *probeDone:
		a.done(ctx, m)
	case *CheckNow:
		a.checkNow(ctx, false)
	case *GetStatus:
		ctx.Respond(&StatusResult{Snapshot: a.snap.Load().clone()})
	// The wire forms (package actors/pb), answered in proto: see remote.go.
	case *pb.HealthCheckNow:
		a.checkNow(ctx, true)
	case *pb.HealthGetStatus:
		ctx.Respond(&pb.HealthStatusResult{Snapshot: snapshotToProto(a.snap.Load().clone())})
	}
}

// waiter is a sender of CheckNow waiting for the probe in flight; asProto
// when it asked in proto form (it may be on another member).
type waiter struct {
	pid     *actor.PID
	asProto bool
}

func (w waiter) reply(r *CheckResult) any {
	if w.asProto {
		return checkResultToProto(r)
	}
	return r
}

func (a *checkerActor) checkNow(ctx actor.Context, asProto bool) {
	if ctx.Sender() != nil {
		a.waiters = append(a.waiters, waiter{pid: ctx.Sender(), asProto: asProto})
	}
	if !a.inflight {
		a.probe()
	}
}

func (a *checkerActor) start(ctx actor.Context) {
	a.self = ctx.Self()
	a.root = ctx.ActorSystem().Root
	a.pid.Store(a.self)
	if a.life == nil {
		a.life, a.stopLife = context.WithCancel(context.Background())
	}
	if n, ok := a.spec.Probe.(notifier); ok {
		root, self := a.root, a.self
		n.setNotify(func() { root.Send(self, &watched{}) })
	}
	if a.inflight {
		return // its result re-arms the timer
	}
	if !a.started {
		a.started = true
		a.arm(time.Duration(a.env.Rand() * float64(a.spec.InitialJitter)))
		return
	}
	a.arm(a.nextDelay())
}

// halt ends the actor for good: the timer, the probe in flight (its
// context is cancelled; it is not waited for, so the mailbox is never held
// by a probe), the prober's resources.
func (a *checkerActor) halt() {
	a.stopTimer()
	if a.stopLife != nil {
		a.stopLife()
		a.life, a.stopLife = nil, nil
	}
	// Whoever waits for the probe in flight learns at once that no result
	// will come.
	for _, w := range a.waiters {
		a.root.Send(w.pid, w.reply(&CheckResult{Err: fmt.Errorf("%w: %s stopped", ErrNotRunning, a.spec.Name)}))
	}
	a.inflight, a.waiters, a.started = false, nil, false
	a.pid.CompareAndSwap(a.self, nil)
	if n, ok := a.spec.Probe.(notifier); ok {
		n.setNotify(nil)
	}
	if c, ok := a.spec.Probe.(io.Closer); ok {
		_ = c.Close()
	}
}

func (a *checkerActor) stopTimer() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	a.gen++
}

func (a *checkerActor) arm(d time.Duration) {
	a.stopTimer()
	root, self, gen := a.root, a.self, a.gen
	a.timer = a.env.Clock.AfterFunc(d, func() { root.Send(self, &tick{gen: gen}) })
}

// nextDelay is the interval for the current status, jittered.
func (a *checkerActor) nextDelay() time.Duration {
	base := a.spec.Interval
	if a.status == Unhealthy {
		base = a.spec.UnhealthyInterval
	}
	f := 1 + a.spec.Jitter*(2*a.env.Rand()-1)
	return time.Duration(float64(base) * f)
}

// probe starts one probe on a goroutine of its own; its result comes back
// as a *probeDone.
func (a *checkerActor) probe() {
	a.stopTimer() // the next tick is armed from the result
	a.inflight = true
	a.seq++
	seq, root, self := a.seq, a.root, a.self
	clock, timeout, p := a.env.Clock, a.spec.Timeout, a.spec.Probe
	ctx, cancel := context.WithTimeout(a.life, timeout)
	go func() {
		defer cancel()
		start := clock.Now()
		err := runProbe(ctx, p, timeout)
		end := clock.Now()
		root.Send(self, &probeDone{seq: seq, err: err, latency: end.Sub(start), at: end})
	}()
}

// runProbe runs p under ctx and returns at the latest when ctx ends, even
// if p ignores ctx (p's goroutine then ends when p returns). A panic is a
// failure matching ErrPanicked.
func runProbe(ctx context.Context, p Prober, timeout time.Duration) error {
	out := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				out <- fmt.Errorf("%w: %v", ErrPanicked, v)
			}
		}()
		out <- p.Probe(ctx)
	}()
	var err error
	select {
	case err = <-out:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil && (errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("%w after %s: %w", ErrTimeout, timeout, err)
	}
	return err
}

func (a *checkerActor) done(ctx actor.Context, m *probeDone) {
	if m.seq != a.seq || !a.inflight {
		return // a probe from before the actor stopped and was respawned
	}
	a.inflight = false
	from := a.status
	r := a.count(m)
	a.publish()
	for _, w := range a.waiters {
		ctx.Send(w.pid, w.reply(&CheckResult{Result: r}))
	}
	a.waiters = nil
	a.announce(r, from)
	a.arm(a.nextDelay())
}

// count applies one result to the counters and the thresholds.
func (a *checkerActor) count(m *probeDone) Result {
	r := Result{Check: a.spec.Name, Healthy: m.err == nil, Latency: m.latency, At: m.at, Err: m.err}
	if m.err != nil {
		r.Error = m.err.Error()
		a.fail++
		a.succ = 0
		a.badN++
		if a.status != Unhealthy && a.fail >= a.spec.UnhealthyThreshold {
			a.status, a.since = Unhealthy, m.at
		}
	} else {
		a.succ++
		a.fail = 0
		a.okN++
		if a.status != Healthy && a.succ >= a.spec.HealthyThreshold {
			a.status, a.since = Healthy, m.at
		}
	}
	r.Status = a.status
	a.hist.observe(m.latency)
	if len(a.recent) == RecentResults {
		copy(a.recent, a.recent[1:])
		a.recent = a.recent[:RecentResults-1]
	}
	a.recent = append(a.recent, r)
	return r
}

// publish stores a fresh immutable snapshot.
func (st *checkState) publish() {
	s := Snapshot{
		Name: st.spec.Name, Kind: st.spec.Kind, Target: st.spec.Target, Critical: st.spec.Critical,
		Status: st.status, Since: st.since,
		ConsecutiveSuccesses: st.succ, ConsecutiveFailures: st.fail,
		Successes: st.okN, Failures: st.badN,
		Recent: st.recent, Latency: st.hist,
	}
	s = s.clone()
	st.snap.Store(&s)
}

// announce publishes the result's events and alerts, after the snapshot
// is stored (a subscriber that reads Status sees the new state).
func (a *checkerActor) announce(r Result, from Status) {
	if es := a.env.Events; es != nil {
		es.Publish(&event.HealthResult{
			Check: r.Check, Target: a.spec.Target, Healthy: r.Healthy, Latency: r.Latency,
			Err: r.Error, At: r.At, Status: r.Status.String(),
		})
	}
	if from == r.Status {
		return
	}
	reason := "probe succeeded"
	if r.Err != nil {
		reason = r.Error
	}
	if es := a.env.Events; es != nil {
		es.Publish(&event.HealthChanged{
			Check: r.Check, Target: a.spec.Target, From: from.String(), To: r.Status.String(), Reason: reason, At: r.At,
		})
	}
	if !a.spec.Critical {
		return
	}
	src := a.env.source(a.spec.Name)
	switch {
	case r.Status == Unhealthy:
		a.env.Alerts.Raise(algedonic.Critical, src, fmt.Sprintf("health check %s unhealthy: %s", a.spec.Name, reason))
	case r.Status == Healthy && from == Unhealthy:
		a.env.Alerts.Raise(algedonic.Info, src, fmt.Sprintf("health check %s recovered", a.spec.Name))
	}
}
