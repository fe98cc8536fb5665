// Package signals carries a node's cluster-wide signals over the cluster
// itself (protoactor remote messages between members, package cluster),
// with no Redis needed: algedonic alerts to every member's System 5, and
// the protocol of shared circuit breakers (coordination: shared).
//
// # What it owns
//
// A Hub per node, with one actor (S2's child "cluster", ActorName) that
// every member addresses at the same process id.
//
//   - Alerts. Reaction is an S5 reaction: each alert raised on this node
//     (not one received from another: those carry Alert.Instance) of at
//     least Local.PublishMin is sent once to every other member, as a
//     signalpb.Alert with the origin node name, member name and instance
//     id. The receiving member's actor hands it to its S5 bare (Deliver:
//     vsm's Alerts().Send), since protoactor's remote envelope loses the
//     priority: S5's alert lane then puts it ahead of queued ordinary
//     messages. Received alerts are never sent on; one that
//     carries this node's own instance, an invalid severity or no origin
//     is refused (Stats.AlertsRefused). Fan-out: one message per member,
//     then each member delivers locally.
//   - Shared breakers. Transport(name) is a coord.Transport: the same
//     coordinator state machine as over Redis, with the cluster behind
//     it. A deterministic leader, the first member by name that is not
//     blocked in each member's view, plays Redis's part: it numbers every
//     Record past every version it and the asker have seen, keeps the
//     newest, sends it to every member (one message each; each member's
//     actor hands it to its coordinators), and grants the probe lease
//     (one holder, expiring after the lease TTL). Members ask it by remote
//     request; the leader itself calls in-process.
//
// # State
//
// Everything lives in the Hub, not the actor, so a restart of the actor
// loses nothing. Every member keeps the newest Record of each breaker it
// has seen (all Records reach all members): a member that becomes the
// leader starts from it, so versions never go backwards; when it says a
// member was probing (half_open), that member keeps the lease for one
// lease TTL, since the old leader's grant is unknown to the new one. On
// every membership change (OnMembership, fed from the event stream) the
// leader gathers the newest Record of each breaker from every member and
// sends it to all, and the others read the leader's: a member that joins
// learns the current state at once, and one that restarted with the
// lowest name takes the cluster's state over rather than its own empty
// one. The coordinators' periodic re-read (coord.Env.SyncEvery) repairs
// anything lost in between.
//
// # Limits
//
// While membership is changing two members may each believe they lead and
// decide for the members that agree (a member asked to lead when it does
// not think it does refuses with ErrNotLeader, and the asker retries), so
// for up to a failure-detection time after a leader dies two probers are
// possible; versions still only move forward. Before Attach
// (the node starts before it joins) the transport fails with an error
// matching state.ErrUnavailable, and a breaker that opens then recovers
// on its own, as a Redis-coordinated one does while Redis is down.
package signals
