// Package breaker is a lock-free circuit breaker: the per-call decision (may
// this call go? record its outcome) is a few atomic operations on a
// [Breaker] that any goroutine may share. It imports neither protoactor nor
// the node's config; the supervised actor that owns a Breaker's timer,
// events and alerts lives in actors/breakeractor.
//
// # State machine
//
//	              threshold reached (consecutive mode)
//	              or failure rate reached (rate mode)
//	+--------+ ---------------------------------------> +------+
//	| closed |                                          | open |
//	+--------+ <---------+                              +------+
//	                     | SuccessThreshold      RecoveryTimeout | ^
//	                     | probes succeeded             passed   | |
//	                     |                                       v | a probe
//	                     |              +-----------+            | | fails
//	                     +------------- | half_open | <----------+ |
//	                                    +-----------+ ------------+
//	                              at most HalfOpenMaxCalls probes run
//	                              at once; the others are rejected
//
// Close and Reset close the breaker from any state. Open forces it open
// from any state and it stays open (no recovery) until Close or Reset. Hold
// opens it for an owner that decides recovery itself (System 2, for a
// shared breaker another node tripped): no recovery timeout either, but not
// a manual open (Stats: Held, not Forced). A half-open phase whose probes
// give no verdict within ProbeTimeout (a caller lost its Token, or a probe
// hangs) goes back to open as a failed probe would (ReasonProbeTimeout).
//
// Every state the breaker enters is a new immutable phase with a generation
// number, published through one atomic pointer. A transition is a
// compare-and-swap of that pointer, so exactly one goroutine wins it. The
// winner does not notify its own transition (a slower winner would notify
// after the next one): each phase links to the one it replaced until it is
// delivered, and whichever goroutine holds the delivery flag walks that
// chain from the last phase delivered and notifies each transition in
// generation order, one at a time, after the phases are stored and outside
// any lock; a goroutine that finds the flag taken leaves its transition to
// the holder, which looks again before it lets go. An outcome recorded against a phase that is no longer current
// (a call admitted before a transition that finishes after it) is dropped, as
// gobreaker v2 does with its generations.
//
// # Recovery
//
// Open moves to half-open lazily: the first [Breaker.Allow] after
// RecoveryTimeout (once the phase's timer fired, below) makes the move. An owner that wants the event at the
// moment the timeout expires (the breaker actor) reads [Breaker.NextTransition]
// and calls [Breaker.Tick] from a timer.
//
// The rejection path does not read the clock. Entering a timed phase (open
// with a recovery timeout, half-open with its probe timeout) arms a timer on
// the breaker's clock (time.AfterFunc, or the [TimerClock] given in
// Settings.Clock) that marks the phase due, so a rejection is one atomic
// load and a counter; the timer only marks, the next call makes the move,
// and a phase that ends first stops its timer. With a Clock that has no
// timers every rejection reads the clock instead.
//
// # Counting
//
// In consecutive mode FailureThreshold consecutive failures open the
// breaker. In rate mode a sliding window (the last WindowSize calls, or the
// last WindowDuration in buckets) is judged after every recorded outcome,
// successes included, once it holds MinimumCalls calls (as resilience4j
// does): a window may reach its minimum with a success while its rate is at
// the threshold, and old successes leaving a time window raise its rate. A call
// slower than SlowCallThreshold counts as a failure even though its own
// result is returned unchanged. Settings.IsFailure classifies errors; a
// context.Canceled that comes from the caller's own cancelled context is
// neither a success nor a failure.
//
// # Telemetry
//
// Totals (successes, failures, rejections, timeouts, slow calls) and a latency
// histogram with fixed bounds ([LatencyBounds]) are kept on striped,
// cache-line padded atomics so they are cheap enough to leave on. Reading
// the clock is the dearest part, so by default 1 call in 32 is timed for the
// histogram (Settings.LatencySampling; every call when SlowCallThreshold is
// set, since it needs the time anyway). Settings.DisableTelemetry turns it
// all off: the state machine keeps working and Stats reports zero totals.
//
// # Restarts
//
// A *Breaker holds all of its state. The actor that owns one receives it from
// outside, so an actor restart loses nothing.
package breaker
