// Package s5 is System 5, Policy: the node's identity and configuration, and
// the final say on algedonic alerts.
//
// S5 is a supervisor with one permanent child, the policy actor
// (stable name "s5/policy"). Every algedonic alert of the node goes straight
// to the policy actor's PID, never up the supervision tree. The policy actor
// runs on a priority mailbox, so an alert (priority 7, sent bare) overtakes
// any number of ordinary messages queued there; protoactor's system messages
// still come first.
//
// For each alert the policy actor, in order:
//   - counts it by severity (counters live in a Stats value owned by the node,
//     so a restart of the actor loses none);
//   - logs it when its severity is at least Policy.LogMin;
//   - publishes *event.AlertRaised when at least Policy.PublishMin;
//   - applies the policy rules (Env.Rules, config algedonic.policy), below;
//   - runs every Reaction (the node adds one that forwards alerts to other
//     nodes). Reactions run on the actor's goroutine and must not block.
//
// # Policy rules
//
// A rule matches on severity (exact, or at least) and source (exact,
// prefix, or path.Match glob), in order; with Match "first" the first
// matching rule acts, with "all" every matching one. Its actions:
//
//	log           log the alert at a level                     on the actor
//	publish       publish it even below PublishMin (event      on the actor
//	              stream, and Hooks.Publisher for own alerts)
//	open_breaker  Hooks.Breakers.Open(name)                    on the actor
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
// State kept outside the actor, in Stats, so a restart loses none of it:
// the counters, the reactions added at run time and the hooks.
//
// Messages accepted (messages.go): *algedonic.Alert, *Ping → *Pong,
// *GetIdentity → *Identity, *GetStats → *StatsResult, *AddReaction,
// *SetHooks. Anything else is logged and dropped. SetHooks is an ordinary
// message, so an alert sent after it may overtake it: send a Ping and wait
// for its reply before relying on the new hooks.
package s5
