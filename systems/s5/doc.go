// Package s5 is System 5, Policy: the node's identity and configuration, and
// the final say on algedonic alerts.
//
// S5 is a supervisor with one permanent child, the policy actor
// (stable name "s5/policy"). Every algedonic alert of the node goes
// straight to S5, never up the supervision tree, through S5's alert lane
// (algedonic.Lane, Env.Lane; the node binds its algedonic channel to it):
// the alert is handled on the raiser's goroutine when no other alert is
// being handled, and otherwise right after the one that is, by whoever
// handles it. So an alert never waits for the policy actor to be
// scheduled: with S5's actor busy on a flood of ordinary messages and
// every CPU busy, it still runs at once (a mailbox, however high the
// priority, is read only when its goroutine runs, and Go has no goroutine
// priorities). Alerts are handled one at a time, exactly once, in the
// order they were posted. The lane is paused while the policy actor
// restarts or stops: alerts raised meanwhile wait for the next instance,
// as they waited in its mailbox. A panic while handling an alert costs that
// alert and makes the policy actor fail, so S5's supervisor restarts it as
// before; it never reaches the raiser.
//
// Alerts sent to the policy actor's PID (tests, a channel bound to a PID
// only) go through its priority mailbox (an alert, priority 7, sent bare,
// overtakes any number of ordinary messages) into the same lane.
//
// For each alert S5, in order:
//   - counts it by severity (counters live in a Stats value owned by the node,
//     so a restart of the actor loses none);
//   - logs it when its severity is at least Policy.LogMin;
//   - publishes *event.AlertRaised when at least Policy.PublishMin;
//   - applies the policy rules (Env.Rules, config algedonic.policy), below;
//   - runs every Reaction (the node adds one that forwards alerts to other
//     nodes). Reactions run on the lane (a raiser's goroutine or the
//     actor's), one at a time: they must be quick, must not block, and
//     must not wait for the policy actor.
//
// # Policy rules
//
// A rule matches on severity (exact, or at least) and source (exact,
// prefix, or path.Match glob), in order; with Match "first" the first
// matching rule acts, with "all" every matching one. Its actions:
//
//	log           log the alert at a level                     on the lane
//	publish       publish it even below PublishMin (event      on the lane
//	              stream, and Hooks.Publisher for own alerts)
//	open_breaker  Hooks.Breakers.Open(name)                    on the lane
//	shed_pool     Hooks.Pools.Shed(ctx, name, ShedTarget)      shed worker
//	webhook       POST the alert as JSON, with a timeout       webhook workers
//
// Handed-off actions go to bounded queues in front of worker goroutines
// owned by the policy actor instance: started on Started (only when a rule
// needs them), cancelled and waited for on Stopping or Restarting. A full
// queue drops the action and counts it (Stats.Webhooks, Stats.Sheds). So a
// hung webhook server holds a worker for the call's timeout and never the
// mailbox. Every action taken, dropped or failed, and every alert no rule
// matched, is an *event.PolicyDecided with the reason; handed-off actions
// are reported when they finish.
//
// State kept outside the actor, in Stats and the lane, so a restart loses
// none of it: the counters, the reactions added at run time, the hooks and
// the alerts not yet handled.
//
// Messages accepted (messages.go): *algedonic.Alert, *Ping → *Pong,
// *GetIdentity → *Identity, *GetStats → *StatsResult, *AddReaction,
// *SetHooks. Anything else is logged and dropped. SetHooks is an ordinary
// message, so an alert sent after it may overtake it: send a Ping and wait
// for its reply before relying on the new hooks.
package s5
