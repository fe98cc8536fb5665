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
//   - runs every Reaction (later parts of the node add them: trip breakers,
//     shed load, forward to other nodes). Reactions run on the actor's
//     goroutine and must not block.
//
// Messages accepted (messages.go): *algedonic.Alert, *Ping → *Pong,
// *GetIdentity → *Identity, *GetStats → *StatsResult, *AddReaction. Anything else is logged
// and dropped.
package s5
