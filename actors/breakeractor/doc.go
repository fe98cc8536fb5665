// Package breakeractor is the supervised actor that owns a circuit breaker
// (a *breaker.Breaker from the core package, imported here as cb).
//
// The per-call path does not come here: callers use the *cb.Breaker handle
// directly (lock-free). The actor owns what needs one owner:
//
//   - the timers: when the breaker opens, the actor arms a timer for
//     cb.Breaker.NextTransition and calls Tick when it fires, so the move to
//     half_open is published at once rather than at the next call; in
//     half_open the same timer ends a phase whose probes gave no verdict
//     within ProbeTimeout (a lost Token), counted in Stats.ProbeTimeouts;
//   - events: every transition is published on the event stream as an
//     *event.BreakerStateChanged, from the actor, after the breaker stored
//     the new state, in generation order and none missing (the breaker
//     hands transitions to its listener in order, and the listener is in
//     place from Props on, so even those made before the actor started are
//     published one by one);
//   - alerts: a breaker that trips (closed → open, not by hand, not held
//     open for the cluster) raises a Warning; one whose half-open probe
//     failed (or timed out) three recoveries in a row raises a Critical
//     (again at six, nine...);
//   - manual commands and queries by message, for actors that hold only its
//     PID.
//
// # Messages
//
//	*GetStats      → *StatsResult
//	*OpenBreaker   → *StatsResult   forced open until closed or reset
//	*CloseBreaker  → *StatsResult
//	*ResetBreaker  → *StatsResult   closed, every counter zeroed
//	*Call          → *CallResult    local only: carries a func
//
// Stats, Open, Close, Reset and Execute are typed, context-aware helpers
// over those requests.
//
// A Call runs on a goroutine of its own (never in the mailbox), at most
// Env.MaxCalls at once, and its reply goes to the captured sender. Calls
// still running when the actor stops have their context cancelled.
//
// # State
//
// The actor keeps no state of its own worth saving: the *cb.Breaker it is
// given holds the state, the counters and the failed-probe streak, and the
// subscription to its transitions is shared by every incarnation of the
// actor. A panic costs a restart, which re-arms the timer; nothing is lost.
//
// The actor also answers the proto forms of package actors/pb
// (*pb.BreakerGetStats, *pb.BreakerOpen, *pb.BreakerClose, *pb.BreakerReset)
// with a *pb.BreakerStatsResult, for callers on another cluster member:
// RemoteStats, RemoteOpen, RemoteClose and RemoteReset wrap them. Call
// (a func) is local only.
package breakeractor
