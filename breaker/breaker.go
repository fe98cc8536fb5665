package breaker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// phase is one stay in one state. It is immutable except for the counters
// that belong to that stay; a transition replaces the whole phase, so
// writers that still hold an old phase write into a dead one and change
// nothing that is current.
type phase struct {
	state  State
	forced bool // opened by Open(): no recovery until Close or Reset
	held   bool // opened by Hold(): its owner decides recovery
	gen    uint64
	at     int64 // entered at, in ns since the breaker's epoch
	// open, neither forced nor held: half-open from this instant;
	// half-open: the probes' verdict is due by this instant.
	until  int64
	reason Reason
	streak int // recoveries in a row that ended with a failed probe
	// simple: closed in consecutive mode, where a success only clears
	// consec (Token.finish's short path).
	simple bool

	// prev is the phase this one replaced, until the transition between
	// them is delivered to the listeners; only the deliverer reads it and
	// then cuts it, so delivered phases are not kept alive.
	prev *phase

	// due is set by the phase's timer once until has passed (see arm):
	// rejecting a call then needs no clock read. Without a timer (a Clock
	// that is not a TimerClock) due stays false and until is compared
	// with the clock instead. Written once, by the timer.
	due   atomic.Bool
	timer Timer // stopped when the phase is replaced; nil if none

	_ [64]byte // keep the hot counters off the read-mostly fields' line

	consec atomic.Int64 // closed: consecutive failures

	_ [56]byte

	inflight atomic.Int32 // half-open: probes running
	probeOK  atomic.Int32 // half-open: probes that succeeded

	count *countWindow // closed, rate mode, count window
	timed *timeWindow  // closed, rate mode, time window
	// sawFail: a failure was recorded in this closed phase's time window.
	// Until then a success need not scan the buckets: a window without
	// failures cannot trip. Written once per phase, so it stays shared.
	sawFail atomic.Bool
}

// Breaker is a circuit breaker. All methods are safe for concurrent use;
// the per-call path (Allow, Token.Done, Call, Do) takes no lock.
type Breaker struct {
	cur atomic.Pointer[phase]

	name  string
	s     Settings
	clock Clock // nil: the real monotonic clock
	// afterFunc arms the timers of timed phases; nil when the clock cannot
	// (then every rejection reads the clock to see if the phase is due).
	afterFunc func(time.Duration, func()) Timer
	epoch     time.Time // instants are stored as ns since epoch
	timeAll   bool      // every call is timed (slow calls)
	needEnd   bool      // every outcome needs the time (time window)
	tel       *telemetry
	rejOpen   error
	rejProbes error

	listeners atomic.Pointer[[]*listener]
	lmu       sync.Mutex // serialises Subscribe and cancel, never held while notifying

	// Ordered delivery of transitions: one goroutine at a time (the one
	// that set delivering) walks from the last phase delivered to the
	// current one and notifies each transition in generation order.
	delivering atomic.Bool
	sent       atomic.Pointer[phase] // the last phase delivered

	probeTimeouts atomic.Uint64 // half-open phases ended by ProbeTimeout
}

type listener struct{ fn func(Transition) }

// New returns a closed breaker named name. Invalid settings are replaced by
// their defaults (see Settings.Validate).
func New(name string, s Settings) *Breaker {
	s = s.withDefaults()
	b := &Breaker{
		name:      name,
		s:         s,
		clock:     s.Clock,
		timeAll:   s.SlowCallThreshold > 0,
		needEnd:   s.Mode == Rate && s.WindowType == TimeWindow,
		rejOpen:   &RejectedError{Name: name, State: Open},
		rejProbes: &RejectedError{Name: name, State: HalfOpen},
	}
	switch c := b.clock.(type) {
	case nil:
		b.epoch = time.Now()
		b.afterFunc = realAfterFunc
	case TimerClock:
		b.epoch = c.Now()
		b.afterFunc = c.AfterFunc
	default:
		b.epoch = c.Now()
	}
	if !s.DisableTelemetry {
		every := s.LatencySampling
		if b.timeAll {
			every = 1
		}
		b.tel = newTelemetry(every)
	}
	if s.OnTransition != nil {
		b.listeners.Store(&[]*listener{{fn: s.OnTransition}})
	}
	first := b.newPhase(nil, Closed, reasonNew, false, false, 0)
	b.cur.Store(first)
	b.sent.Store(first)
	return b
}

// Name is the breaker's name.
func (b *Breaker) Name() string { return b.name }

// Settings are the breaker's settings, with defaults filled in.
func (b *Breaker) Settings() Settings { return b.s }

// State is the current state. An open breaker whose recovery timeout has
// passed still reads Open until a call or Tick moves it.
func (b *Breaker) State() State { return b.cur.Load().state }

func (b *Breaker) now() int64 {
	if b.clock == nil {
		return int64(time.Since(b.epoch))
	}
	return int64(b.clock.Now().Sub(b.epoch))
}

func (b *Breaker) instant(ns int64) time.Time { return b.epoch.Add(time.Duration(ns)) }

func (b *Breaker) newPhase(from *phase, to State, reason Reason, forced, held bool, now int64) *phase {
	p := &phase{state: to, forced: forced, held: held, at: now, reason: reason, prev: from}
	if from != nil {
		p.gen = from.gen + 1
		p.streak = from.streak
	}
	switch to {
	case Closed:
		p.streak = 0
		p.simple = b.s.Mode == Consecutive
		if b.s.Mode == Rate {
			if b.s.WindowType == TimeWindow {
				p.timed = newTimeWindow(b.s.WindowDuration)
			} else {
				p.count = newCountWindow(b.s.WindowSize)
			}
		}
	case Open:
		if reason == ReasonProbeFailed || reason == ReasonProbeTimeout {
			p.streak++
		}
		if !forced && !held {
			p.until = now + int64(b.s.RecoveryTimeout)
		}
	case HalfOpen:
		p.until = now + int64(b.s.ProbeTimeout)
	}
	if reason == ReasonReset {
		p.streak = 0
	}
	return p
}

// transition moves from → to if from is still current.
func (b *Breaker) transition(from *phase, to State, reason Reason, forced bool, now int64) (*phase, bool) {
	return b.install(from, b.newPhase(from, to, reason, forced, false, now))
}

// install makes np current if from still is, then delivers every
// transition not delivered yet. np's timer is armed before it is
// published, so no goroutine sees it current without one; the timer of the
// phase replaced, or of np if it lost, is stopped.
func (b *Breaker) install(from, np *phase) (*phase, bool) {
	b.arm(np)
	if !b.cur.CompareAndSwap(from, np) {
		np.disarm()
		return b.cur.Load(), false
	}
	from.disarm()
	b.deliver()
	return np, true
}

func realAfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// arm starts the timer that marks p due at p.until, when p is a timed
// phase (open with a recovery timeout, or half-open) and the clock has
// timers. The delay is measured from the clock's present, not from p.at,
// which Tick takes from its caller: due must never be set before the clock
// reads until, or a rejection would disagree with NextTransition.
func (b *Breaker) arm(p *phase) {
	if b.afterFunc == nil || p.state == Closed || p.forced || p.held {
		return
	}
	p.timer = b.afterFunc(max(time.Duration(p.until-b.now()), 0), func() { p.due.Store(true) })
}

func (p *phase) disarm() {
	if p.timer != nil {
		p.timer.Stop()
	}
}

// expired reports whether timed phase p has reached its until: its timer
// fired, or, without timers, the clock says so.
func (b *Breaker) expired(p *phase) bool {
	return p.due.Load() || b.afterFunc == nil && b.now() >= p.until
}

// deliver notifies the listeners of the transitions made since the last
// delivery, in generation order. The goroutine that wins a transition's
// compare-and-swap is not necessarily the first to get to its listeners,
// so no winner notifies its own transition: whoever holds delivering walks
// the phases from the last one delivered to the current one. A goroutine
// that finds delivering taken returns at once; the holder, after letting
// go, looks again for phases installed meanwhile, so none is missed. No
// lock is held while listeners run (a listener that makes a transition
// itself just leaves it to the loop).
func (b *Breaker) deliver() {
	for b.delivering.CompareAndSwap(false, true) {
		b.drain()
		if b.cur.Load() == b.sent.Load() {
			return
		}
	}
}

// drain runs with delivering held and lets go of it, even if a listener
// panics.
func (b *Breaker) drain() {
	defer b.delivering.Store(false)
	for {
		last, cur := b.sent.Load(), b.cur.Load()
		if cur == last {
			return
		}
		var buf [4]*phase
		path := buf[:0]
		for p := cur; p != last && p != nil; p = p.prev {
			path = append(path, p)
		}
		for i := len(path) - 1; i >= 0; i-- {
			p := path[i]
			from := p.prev
			p.prev = nil // delivered: let the older phases go
			b.sent.Store(p)
			if from == nil || from.state == p.state && from.forced == p.forced {
				continue // no change a listener can see (Hold of an open breaker)
			}
			b.notify(Transition{
				Name: b.name, From: from.state, To: p.state, Reason: p.reason,
				At: b.instant(p.at), Generation: p.gen, FailedProbes: p.streak, Forced: p.forced,
			})
		}
	}
}

func (b *Breaker) notify(t Transition) {
	if ls := b.listeners.Load(); ls != nil {
		for _, l := range *ls {
			l.fn(t)
		}
	}
}

// Subscribe adds fn to the listeners notified after every transition (see
// Settings.OnTransition for the rules fn must follow) and returns a func that
// removes it; calling that func again does nothing.
func (b *Breaker) Subscribe(fn func(Transition)) (cancel func()) {
	l := &listener{fn: fn}
	b.lmu.Lock()
	var next []*listener
	if old := b.listeners.Load(); old != nil {
		next = append(next, *old...)
	}
	next = append(next, l)
	b.listeners.Store(&next)
	b.lmu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.lmu.Lock()
			defer b.lmu.Unlock()
			old := b.listeners.Load()
			next := make([]*listener, 0, len(*old))
			for _, x := range *old {
				if x != l {
					next = append(next, x)
				}
			}
			b.listeners.Store(&next)
		})
	}
}

// Token is a permission to make one call, returned by Allow. Exactly one
// Done must follow, whatever happens to the call; a half-open probe slot is
// held until then. The zero Token's Done does nothing.
type Token struct {
	b     *Breaker
	p     *phase
	start int64   // -1: the call is not timed
	s     *stripe // the counters Allow picked for this call; nil: pick at Done
}

// Allow asks whether a call may go. When it may not, err is a
// *RejectedError matching ErrOpen (and ErrTooManyProbes in half-open), the
// rejection is counted and the Token is zero. Allow does not allocate.
func (b *Breaker) Allow() (Token, error) {
	// The two hot cases, admitted while closed and rejected while open,
	// are answered here without another call; allow does the rest.
	p := b.cur.Load()
	switch {
	case p.state == Closed:
		t := Token{b: b, p: p, start: -1}
		if b.tel != nil {
			// One stripe serves the sampling decision here and the count
			// at Done: the hash of the stack address is not paid twice.
			t.s = b.tel.pick()
			if b.timeAll || b.tel.due(t.s) {
				t.start = b.now()
			}
		} else if b.timeAll {
			t.start = b.now()
		}
		return t, nil
	case p.state == Open && (p.forced || p.held || !b.expired(p)):
		return Token{}, b.reject(b.rejOpen)
	}
	return b.allow()
}

func (b *Breaker) allow() (Token, error) {
	p := b.cur.Load()
	for {
		switch p.state {
		case Closed:
			return Token{b: b, p: p, start: b.startTime()}, nil
		case Open:
			// With timers this is one load: the phase's timer marks it due
			// when the recovery timeout has passed (no clock read per
			// rejection).
			if p.forced || p.held || !b.expired(p) {
				return Token{}, b.reject(b.rejOpen)
			}
			p, _ = b.transition(p, HalfOpen, ReasonRecoveryTimeout, false, b.now())
			continue
		default: // HalfOpen
			if p.inflight.Add(1) > int32(b.s.HalfOpenMaxCalls) {
				p.inflight.Add(-1)
				// A probe whose caller never calls Done (a lost Token)
				// would hold its slot for good: past ProbeTimeout the
				// phase ends as if its probe had failed.
				if b.expired(p) {
					p, _ = b.expireProbes(p, b.now())
					continue
				}
				return Token{}, b.reject(b.rejProbes)
			}
			if cur := b.cur.Load(); cur != p {
				// The phase ended (a probe failed or succeeded) between the
				// load and the increment: its free slot is not a permission.
				p.inflight.Add(-1)
				p = cur
				continue
			}
			return Token{b: b, p: p, start: b.startTime()}, nil
		}
	}
}

func (b *Breaker) startTime() int64 {
	if b.timeAll || b.tel != nil && b.tel.sample() {
		return b.now()
	}
	return -1
}

func (b *Breaker) reject(err error) error {
	if b.tel != nil {
		b.tel.pick().rejections.Add(1)
	}
	return err
}

// Done records the call's outcome. ctx is the caller's own context (nil if
// unknown): a context.Canceled while it is cancelled is ignored. A
// *TimeoutError naming this breaker (an adapter enforced CallTimeout itself)
// counts as a failure and a timeout. Otherwise Settings.IsFailure classifies
// err, and a call slower than SlowCallThreshold is a failure. Done does not
// allocate.
func (t Token) Done(ctx context.Context, err error) {
	timedOut := false
	if err != nil && t.b != nil {
		var te *TimeoutError
		timedOut = errors.As(err, &te) && te.Name == t.b.name
	}
	t.finish(ctx, err, timedOut)
}

func (t Token) finish(ctx context.Context, err error, timedOut bool) {
	b, p := t.b, t.p
	if b == nil {
		return
	}
	if err == nil && t.start < 0 && p.simple {
		// The common case, kept short: an untimed success in a closed
		// phase of consecutive mode only clears the failure streak (a
		// dead phase's streak is never read, so there is no need to check
		// that p is current).
		if t.s != nil {
			t.s.successes.Add(1)
		} else if b.tel != nil {
			b.tel.pick().successes.Add(1)
		}
		if p.consec.Load() != 0 {
			p.consec.Store(0)
		}
		return
	}
	t.record(ctx, err, timedOut)
}

// record is finish for every other outcome.
func (t Token) record(ctx context.Context, err error, timedOut bool) {
	b := t.b
	var end, elapsed int64
	timed := t.start >= 0
	if timed || b.needEnd {
		end = b.now()
	}
	if timed {
		elapsed = end - t.start
	}
	failed, ignored, slow := false, false, false
	switch {
	case timedOut:
		failed = true
	case err == nil:
	case ctx != nil && errors.Is(err, context.Canceled) && ctx.Err() != nil:
		ignored = true
	case b.s.IsFailure == nil || b.s.IsFailure(err):
		failed = true
	}
	if !ignored && b.timeAll && elapsed >= int64(b.s.SlowCallThreshold) {
		slow, failed = true, true
	}
	if b.tel != nil {
		s := t.s
		if s == nil {
			s = b.tel.pick()
		}
		switch {
		case ignored:
			s.ignored.Add(1)
		case failed:
			s.failures.Add(1)
		default:
			s.successes.Add(1)
		}
		if timedOut {
			s.timeouts.Add(1)
		}
		if slow {
			s.slow.Add(1)
		}
		if timed {
			s.observe(elapsed)
		}
	}
	b.record(t.p, failed, ignored, end)
}

// record applies an outcome to the state machine. Outcomes of a phase that
// is no longer current are dropped.
func (b *Breaker) record(p *phase, failed, ignored bool, now int64) {
	switch p.state {
	case HalfOpen:
		p.inflight.Add(-1)
		if ignored || b.cur.Load() != p {
			return
		}
		if failed {
			b.transition(p, Open, ReasonProbeFailed, false, b.nowIfZero(now))
		} else if p.probeOK.Add(1) == int32(b.s.SuccessThreshold) {
			b.transition(p, Closed, ReasonProbesSucceeded, false, b.nowIfZero(now))
		}
	case Closed:
		if ignored || b.cur.Load() != p {
			return
		}
		if !failed {
			if p.consec.Load() != 0 {
				p.consec.Store(0)
			}
			// Rate mode judges after every outcome, successes included (as
			// resilience4j does): the window may reach MinimumCalls with a
			// success while its rate is at the threshold, and in a time
			// window old successes leave, so the rate can rise. Reading the
			// totals is two atomic loads (count) or one pass over the
			// buckets (time): no lock, no allocation.
			switch {
			case p.count != nil:
				p.count.record(false)
				if b.tripped(p.count.totals()) {
					b.transition(p, Open, ReasonFailureRate, false, b.nowIfZero(now))
				}
			case p.timed != nil:
				p.timed.record(now, false)
				if p.sawFail.Load() && b.tripped(p.timed.totals(now)) {
					b.transition(p, Open, ReasonFailureRate, false, now)
				}
			}
			return
		}
		n := p.consec.Add(1)
		switch {
		case p.count != nil:
			p.count.record(true)
			if b.tripped(p.count.totals()) {
				b.transition(p, Open, ReasonFailureRate, false, b.nowIfZero(now))
			}
		case p.timed != nil:
			if !p.sawFail.Load() {
				p.sawFail.Store(true)
			}
			p.timed.record(now, true)
			if b.tripped(p.timed.totals(now)) {
				b.transition(p, Open, ReasonFailureRate, false, now)
			}
		case n >= int64(b.s.FailureThreshold):
			b.transition(p, Open, ReasonFailureThreshold, false, b.nowIfZero(now))
		}
	}
}

func (b *Breaker) nowIfZero(now int64) int64 {
	if now == 0 {
		return b.now()
	}
	return now
}

func (b *Breaker) tripped(calls, fails int64) bool {
	return calls >= int64(b.s.MinimumCalls) && calls > 0 &&
		float64(fails)*100 >= b.s.FailureRate*float64(calls)
}

// Call runs fn if the breaker lets it, with CallTimeout applied to fn's
// context, and records the outcome. When the breaker is open it returns at
// once a *RejectedError (errors.Is(err, ErrOpen)) without calling fn. A call
// that runs past CallTimeout returns a *TimeoutError (errors.Is matches
// ErrTimeout and context.DeadlineExceeded) after fn returns: Call never
// abandons fn (fault.WithDeadline does). If fn panics, the call counts as a
// failure and the panic goes on. Without CallTimeout, Call does not allocate.
func (b *Breaker) Call(ctx context.Context, fn func(context.Context) error) (err error) {
	t, err := b.Allow()
	if err != nil {
		return err
	}
	if b.s.CallTimeout > 0 {
		return b.callWithTimeout(ctx, t, fn)
	}
	// One deferred call records the outcome, the normal one or, if fn
	// panics, errPanicked (err is not assigned then), where there were a
	// deferred closure checking a flag and an inline finish.
	err = errPanicked
	defer t.finishCall(ctx, &err)
	err = fn(ctx)
	return err
}

// finishCall is Call's deferred record of the outcome *err.
func (t Token) finishCall(ctx context.Context, err *error) { t.finish(ctx, *err, false) }

func (b *Breaker) callWithTimeout(ctx context.Context, t Token, fn func(context.Context) error) (err error) {
	timedOut := false
	err = errPanicked
	defer func() { t.finish(ctx, err, timedOut) }()
	cctx, cancel := context.WithTimeout(ctx, b.s.CallTimeout)
	defer cancel()
	err = fn(cctx)
	if cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		err, timedOut = &TimeoutError{Name: b.name, Timeout: b.s.CallTimeout, Err: err}, true
	}
	return err
}

// Do is Call for a function that returns a value. The zero T is returned
// with a rejection or a timeout.
func Do[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error)) (v T, err error) {
	t, err := b.Allow()
	if err != nil {
		return v, err
	}
	if b.s.CallTimeout > 0 {
		return doWithTimeout(ctx, b, t, fn)
	}
	err = errPanicked // as in Call
	defer t.finishCall(ctx, &err)
	v, err = fn(ctx)
	return v, err
}

func doWithTimeout[T any](ctx context.Context, b *Breaker, t Token, fn func(context.Context) (T, error)) (v T, err error) {
	timedOut := false
	err = errPanicked
	defer func() { t.finish(ctx, err, timedOut) }()
	cctx, cancel := context.WithTimeout(ctx, b.s.CallTimeout)
	defer cancel()
	v, err = fn(cctx)
	if cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		var zero T
		v, err, timedOut = zero, &TimeoutError{Name: b.name, Timeout: b.s.CallTimeout, Err: err}, true
	}
	return v, err
}

// Open forces the breaker open. It stays open, rejecting every call, until
// Close or Reset: there is no recovery timeout for a breaker opened by hand.
func (b *Breaker) Open() {
	for {
		p := b.cur.Load()
		if p.state == Open && p.forced {
			return
		}
		if _, ok := b.transition(p, Open, ReasonManualOpen, true, b.now()); ok {
			return
		}
	}
}

// Close closes the breaker with a fresh window, keeping the totals. It does
// nothing to a closed breaker.
func (b *Breaker) Close() {
	for {
		p := b.cur.Load()
		if p.state == Closed {
			return
		}
		if _, ok := b.transition(p, Closed, ReasonManualClose, false, b.now()); ok {
			return
		}
	}
}

// Reset closes the breaker with a fresh window and zeroes every counter,
// the telemetry totals and the failed-probe streak included. Listeners hear
// of it only if the breaker was not closed.
func (b *Breaker) Reset() {
	if b.tel != nil {
		b.tel.reset()
	}
	b.probeTimeouts.Store(0)
	for {
		p := b.cur.Load()
		if _, ok := b.transition(p, Closed, ReasonReset, false, b.now()); ok {
			return
		}
	}
}

// NextTransition is when the breaker's next timed transition is due: an
// open breaker may move to half-open, a half-open one whose probes have not
// reported goes back to open (ProbeTimeout). ok is false when none is
// pending (closed, or opened by hand or held).
func (b *Breaker) NextTransition() (at time.Time, ok bool) {
	p := b.cur.Load()
	if p.state == Closed || p.forced || p.held {
		return time.Time{}, false
	}
	return b.instant(p.until), true
}

// Tick makes the timed transition due at now, if any: an open breaker whose
// recovery timeout has passed moves to half-open, so that listeners hear of
// it without waiting for a call; a half-open one past ProbeTimeout goes back
// to open. now is read on the breaker's clock. It reports whether this call
// made a move.
func (b *Breaker) Tick(now time.Time) bool {
	p := b.cur.Load()
	if p.state == Closed || p.forced || p.held {
		return false
	}
	n := int64(now.Sub(b.epoch))
	if n < p.until {
		return false
	}
	if p.state == HalfOpen {
		_, ok := b.expireProbes(p, n)
		return ok
	}
	_, ok := b.transition(p, HalfOpen, ReasonRecoveryTimeout, false, n)
	return ok
}

// expireProbes ends half-open phase p, whose probes did not report within
// ProbeTimeout, as a failed probe would (ReasonProbeTimeout); the late
// outcomes are then dropped as stale.
func (b *Breaker) expireProbes(p *phase, now int64) (*phase, bool) {
	np, ok := b.transition(p, Open, ReasonProbeTimeout, false, now)
	if ok {
		b.probeTimeouts.Add(1)
	}
	return np, ok
}

// Hold opens the breaker for an owner that decides its recovery itself
// (System 2 holds a shared breaker open on every node while the cluster is
// open). Like a manual Open it has no recovery timeout, and HalfOpen, Close,
// Reset or Open end it; unlike it, it is not a manual open: Stats report
// Forced false and Held true. From closed or half-open the breaker opens
// with reason; an open breaker keeps its own reason (it tripped itself) and
// listeners hear nothing, since its state does not change. A breaker opened
// by hand, or held already, is left alone. Hold reports whether it changed
// anything.
func (b *Breaker) Hold(reason Reason) bool {
	for {
		p := b.cur.Load()
		if p.forced || p.held {
			return false
		}
		np := b.newPhase(p, Open, reason, false, true, b.now())
		if p.state == Open {
			np.reason, np.at, np.streak = p.reason, p.at, p.streak
		}
		if _, ok := b.install(p, np); ok {
			return true
		}
	}
}

// Generation is the current phase's generation: it grows by one with
// every transition.
func (b *Breaker) Generation() uint64 { return b.cur.Load().gen }

// Now is the current time on the breaker's clock.
func (b *Breaker) Now() time.Time { return b.instant(b.now()) }

// HalfOpen moves an open breaker (opened by hand or not) to half-open now,
// with ReasonRecoveryTimeout, so that the next calls probe. It is for an
// owner that decides recovery itself instead of the breaker's own timeout:
// System 2 holds a shared breaker open with Hold on every node and lets
// only the node holding the cluster's probe lease go half-open. It reports
// whether this call made the move.
func (b *Breaker) HalfOpen() bool {
	for {
		p := b.cur.Load()
		if p.state != Open {
			return false
		}
		if _, ok := b.transition(p, HalfOpen, ReasonRecoveryTimeout, false, b.now()); ok {
			return true
		}
	}
}
