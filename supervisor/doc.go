// Package supervisor builds Erlang/OTP-style supervision trees on
// protoactor-go: one-for-one, all-for-one and rest-for-one strategies,
// restart intensity per supervisor (at most N restarts of its children
// within a window), restart types, shutdown timeouts, significant children
// and automatic shutdown, exponential backoff, escalation to the parent,
// and a Directory that names every supervised actor by a stable path.
//
// # What it owns
//
// A supervisor is an actor made by [Props]. It starts its children in
// order when it starts, decides what happens when one fails or exits, and
// keeps the node's [Directory] current: each child is registered under its
// stable name (the supervisor's path + "/" + the child's name, e.g.
// "s1/breaker/api") while it lives, with its kind and restart count, and
// keeps its place in the tree across restarts.
//
// The supervisor actor is its own actor.SupervisorStrategy: protoactor
// calls HandleFailure on the supervisor's goroutine, where the ordered
// child list lives, which is how rest-for-one (absent from protoactor),
// ordered restarts and OTP intensity are built.
//
// # The contract
//
// One thing at a time. Everything that starts or stops children is a job
// of steps run one after another: the initial start, a restart, StartChild,
// StopChild, a shutdown. A step that waits (for a child's Terminated, for
// the end of its start, for a backoff) holds the jobs behind it, as OTP's
// supervisor is busy while it restarts. A start is finished when the child
// has handled Started: the supervisor sends it protoactor's Touch, which an
// actor answers after Started; a child supervisor answers only once its own
// children have started (as OTP's start_link of a supervisor returns after
// init). A child whose Started never returns holds its supervisor, and a
// child must not wait in Started for an answer from its own supervisor
// (Start, Stop, List): the supervisor is waiting for that Started.
//
// One exception, for starting many children: StartChildren (StartAll) is
// one job, and under one_for_one it spawns the whole batch before waiting
// for their Started, which then run concurrently; the job ends once each
// has handled it (or failed). Other strategies start a batch one child
// after another. Children are indexed by name and by pending start
// acknowledgement, so that 10,000 children cost no more per start or stop
// than 3.
//
// Restart intensity. Every restart of a child (after a failure, or after a
// permanent child's normal exit) is counted for the supervisor as a whole.
// More than MaxRestarts of them within Window and the supervisor gives up:
// it publishes SupervisionEscalated, raises a Critical alert (Emergency
// when TopLevel), stops all its children in reverse start order, and then
// escalates (EscalateFailure with a *GaveUpError) so that its parent
// restarts it, or, when TopLevel, stops itself. Config.IntensityPerChild
// counts each child on its own instead.
//
// Strategies. OneForOne restarts the child; AllForOne every child;
// RestForOne the child and those started after it. The targets are stopped
// in reverse start order, then (after the backoff, if any) started in start
// order, each once the previous start is finished:
//
//	children a b c d, all_for_one, c panics
//
//	  c ✗ ─► stop d ─► stop c ─► stop b ─► stop a ─► [backoff] ─► start a ─► start b ─► start c ─► start d
//	         Poison    Stop       Poison    Poison                 spawn,     spawn,     spawn,     spawn,
//	         (wait     (crashed:  ...       ...                    Touched    Touched    Touched    Touched
//	         Termi-    only the
//	         nated)    instance)
//
// A child restarted alone (one-for-one, or the last child in rest-for-one)
// is restarted in place by protoactor: its PID and mailbox stay, so the
// messages queued behind its panic go to the new instance. Children
// restarted together are stopped and spawned anew (an equal PID, as
// protoactor ids are the parent's id + "/" + name); what was queued for
// them is dropped, as messages to a dead OTP process are. A child
// supervisor that gave up has already stopped its children and is restarted
// in place.
//
// Restart types. ChildSpec.Restart is Permanent (the zero value: restarted
// after a failure and after a normal exit, i.e. the child stopping itself or
// being stopped by someone else), Transient (restarted after a failure
// only), or Temporary (never: after its failure or exit it is forgotten,
// its spec too; when a sibling's failure restarts it with others it is
// stopped and left out).
//
// Shutdown. To stop a child the supervisor sends it a PoisonPill: the
// child handles what is already queued, then its Stopping. If it has not
// terminated after ChildSpec.Shutdown (0: DefaultShutdown for a worker,
// ShutdownInfinity for a supervisor), it is stopped with protoactor's Stop
// (queued messages dropped). ShutdownBrutalKill skips the graceful phase;
// a crashed child is just stopped. event.ActorShutdown says which
// happened. A supervisor that receives a PoisonPill stops its children in
// reverse start order, each by its own shutdown, then itself; a protoactor
// Stop or Restart sent to it from outside stops its remaining children all
// at once, as protoactor does.
//
// Significant children and auto-shutdown. With Config.AutoShutdown
// AnySignificant, a significant child that terminates by itself (a
// transient one exiting normally, a temporary one exiting or failing) makes
// the supervisor stop its other children in reverse start order and exit
// normally; with AllSignificant, once every significant child has. A
// significant child must be transient or temporary, under a supervisor
// whose AutoShutdown is not Never (else ErrInvalidSpec). Terminations the
// supervisor causes (StopChild, restarts) never trigger it.
//
// # Messages it accepts
//
//	*StartChild   → *StartChildResult  start one more child, after the others; replied once it has started
//	*StartChildren → *StartChildrenResult  start several, in order, after the others (concurrently under
//	                                   one_for_one); replied once all have started; the first failure ends it
//	*StopChild    → *StopChildResult   stop a child for good; replied once it has terminated
//	*GetChildren  → *Children          children in order, with restarts and state
//	PoisonPill                         stop the children in order, then itself
//	Touch         → Touched            once the initial children have started
//
// [Start], [StartAll], [Stop] and [List] wrap the first four with a context (they
// wait on a private reply process, not a protoactor Future, so an abandoned
// call leaves no goroutine behind). GetChildren is answered at once, except
// after a pending start or request, which it waits for. Anything else is
// logged at warn level and ignored. Requests that arrive while the
// supervisor restarts are replayed, in order, by the next incarnation.
//
// # Events and alerts
//
// On Env.Events: *event.ActorStarted when a child is spawned,
// *event.ActorRestarted when one is restarted (Reason is the panic value,
// formatted, or "exited"; siblings restarted by all-for-one or rest-for-one
// carry "sibling X failed"), *event.ActorShutdown when a child the
// supervisor stopped has terminated, *event.ActorStopped when one is
// forgotten, and *event.SupervisionEscalated on give-up. On give-up
// Env.Alerts gets a Critical alert whose source is the supervisor's path
// ("/" for the root), or an Emergency one when the supervisor is TopLevel;
// it is raised before anything is stopped, so that S5, the first child of
// the node root and so the last stopped, still receives it.
//
// # State
//
// Per incarnation: the ordered child list (spec, PID, restart count, state
// starting/running/stopping/restarting, pending StopChild requesters), the
// restart times inside the window, the job queue, and the pending timers
// (backoff, shutdown timeouts), which are stopped on Stopping and
// Restarting. Across incarnations (held by the Props): the child specs,
// static ones first then those added by StartChild, minus those removed by
// StopChild and the temporary children that ended; reset when the
// supervisor stops for good (kept when its parent stops it to spawn it
// again). One Props value must back one live actor at a time.
//
// # Traps this package handles
//
// protoactor ignores the supervisor of top-level actors, so a supervisor
// spawned from the root context handles its children's failures but its
// own escalation is handled by protoactor's hidden default; make the node
// root a supervisor with TopLevel set and put everything below it. Child
// protoactor ids are the parent's id + "/" + Name, so a re-spawned child
// has a PID equal to its predecessor's. protoactor answers Touch and
// handles PoisonPill before the actor sees them; a receiver middleware in
// Props turns both into the supervisor's own messages.
package supervisor
