// Package supervisor builds Erlang/OTP-style supervision trees on
// protoactor-go: one-for-one, all-for-one and rest-for-one strategies,
// restart intensity (at most N restarts of a child within a window),
// exponential backoff between restarts, escalation to the parent, and a
// Directory that names every supervised actor by a stable path.
//
// # What it owns
//
// A supervisor is an actor made by [Props]. It spawns its children (in
// order) when it starts, decides what happens when one fails, and keeps the
// node's [Directory] current: each child is registered under its stable
// name (the supervisor's path + "/" + the child's name, e.g.
// "s1/breaker/api") while it lives, with its kind and restart count, and is
// removed when it terminates. A restarted child keeps its PID (protoactor
// re-runs its producer, so its state is fresh, and the messages queued
// behind the panic go to the new instance).
//
// The supervisor actor is its own actor.SupervisorStrategy: protoactor
// calls HandleFailure on the supervisor's goroutine, where the ordered
// child list lives, which is how rest-for-one (absent from protoactor) and
// OTP intensity (protoactor's strategies count differently and cannot
// delay) are built.
//
// # Messages it accepts
//
//	*StartChild   → *StartChildResult  spawn one more child, after the others
//	*StopChild    → *StopChildResult   stop a child for good; replied once it has terminated
//	*GetChildren  → *Children          children in order, with restarts and state
//
// [Start], [Stop] and [List] wrap them with a context (they wait on a
// private reply process, not a protoactor Future, so an abandoned call
// leaves no goroutine behind). Anything else is
// logged at warn level and ignored. Requests that arrive while the
// supervisor restarts are replayed, in order, by the next incarnation.
//
// # Events and alerts
//
// On Env.Events: *event.ActorStarted when a child is spawned,
// *event.ActorRestarted when one is restarted (Reason is the panic value,
// formatted; siblings restarted by all-for-one or rest-for-one carry
// "sibling X failed"), *event.ActorStopped when one terminates for good,
// and *event.SupervisionEscalated on give-up. On give-up Env.Alerts gets a
// Critical alert whose source is the supervisor's path ("/" for the root),
// or an Emergency one when the supervisor is TopLevel.
//
// # State
//
// Per incarnation: the ordered child list (spec, PID, restart count,
// failure times inside the window, state running/restarting/stopping,
// pending StopChild requesters) and the pending backoff timers, which are
// stopped on Stopping and Restarting. Across incarnations (held by the
// Props): the child specs, static ones first then those added by
// StartChild, minus those removed by StopChild; reset when the supervisor
// stops for good. One Props value must back one live actor at a time.
//
// # The restart decision
//
//	child fails (panics, or a child supervisor escalates)
//	  │
//	  ├─ supervisor stopping/restarting/escalated ─► ignore (children are going away)
//	  ├─ MaxRestarts < 0 ──────────────────────────► stop child, ActorStopped "failed: ..."
//	  │
//	  ├─ record failure; drop failures older than Window
//	  │
//	  ├─ failures > MaxRestarts ───────────────────► give up:
//	  │                                               stop child, SupervisionEscalated,
//	  │                                               TopLevel? Emergency alert
//	  │                                               else      Critical alert +
//	  │                                                         EscalateFailure(*GaveUpError)
//	  │                                                         → parent restarts this supervisor,
//	  │                                                           which re-spawns all its children
//	  │
//	  └─ targets = OneForOne:  the child
//	               AllForOne:  every live child
//	               RestForOne: the child and every live child after it
//	     delay = Backoff.Delay(failures)
//	        ├─ 0 ─► restart targets now, ActorRestarted each
//	        └─ d ─► mark targets "restarting", timer(d) ─► restartDue ─► restart
//
// A child that stops by itself is not restarted (a normal exit).
//
// # Traps this package handles
//
// protoactor ignores the supervisor of top-level actors, so a supervisor
// spawned from the root context handles its children's failures but its
// own escalation is handled by protoactor's hidden default; make the node
// root a supervisor with TopLevel set and put everything below it. Child
// protoactor ids are the parent's id + "/" + Name, so a re-spawned child
// has a PID equal to its predecessor's.
package supervisor
