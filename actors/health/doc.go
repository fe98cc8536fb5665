// Package health is System 4's view of the outside world: one supervised
// checker actor per health check, probing an external service (HTTP, TCP,
// gRPC health, Redis PING, WebSocket ping/pong, or a Go function) and
// publishing its status.
//
// # Checkers
//
// NewChecker validates a Spec and returns a *Checker handle; its Props
// produce the actor, to spawn under a supervisor (Registry.Add returns the
// supervisor.ChildSpec). The actor owns the schedule and the thresholds:
//
//   - the first probe runs after a random delay below Spec.InitialJitter,
//     each later one Spec.Interval (Spec.UnhealthyInterval while
//     Unhealthy) after the previous result, spread by ±Spec.Jitter, so
//     that nodes started together do not probe in step;
//   - a probe runs on a goroutine of its own, never in the mailbox, under a
//     context that ends at Spec.Timeout or when the actor stops (a probe in
//     flight is cancelled then); a probe that ignores its context is
//     abandoned at the timeout, and a probe that panics is a failure
//     matching ErrPanicked;
//   - the status is Unknown until HealthyThreshold successes in a row
//     (Healthy) or UnhealthyThreshold failures in a row (Unhealthy); an
//     isolated result against the status changes nothing, so a flapping
//     target does not flap the status (state machine: see Status).
//
// The gRPC prober keeps a grpc.health.v1 Watch stream open and tells its
// checker of each change the server pushes, which probes at once; a server
// without Watch (Unimplemented) is asked with Check from then on.
//
// # Events, metrics, alerts
//
// Every result is published on Env.Events as an *event.HealthResult, and
// every status change as an *event.HealthChanged, after the new snapshot
// is stored. A Spec with Critical raises an algedonic Critical alert (on
// Env.Alerts, source Env.Path + "/" + name) when it turns Unhealthy and an
// Info alert when it recovers: once per transition. Each snapshot carries
// the latency Histogram (bucket counts, count, sum) and the success and
// failure totals, for telemetry to export.
//
// # Messages
//
//	*CheckNow  → *CheckResult   probe now (or join the probe in flight)
//	*GetStatus → *StatusResult  the snapshot
//
// RunCheck and StatusOf are typed, context-aware helpers over them, for
// actors that hold only a checker's PID.
//
// # Registry
//
// A Registry names the node's checkers: Add for configured ones (before
// their supervisor starts), Register (a func(ctx) error and an interval:
// the seed's register_service) and Start for run-time ones under the
// supervisor given to Supervise, Remove to stop one. Check(ctx, name) probes
// on demand; Status(name) and AllStatus() read the published snapshots
// from any goroutine without a lock (copy-on-write map, atomic snapshots).
// SpecFromConfig turns a config health_checks entry into a Spec.
//
// # State
//
// The handle holds the state: status, counters, recent results, histogram,
// the probe in flight. A restarted actor (a panic in the actor itself)
// keeps all of it and re-arms its timer; a probe in flight during the
// restart delivers its result to the new instance. Probers that hold
// connections (HTTP idle connections, the gRPC connection and stream) are
// closed when the actor stops for good.
//
// A checker also answers the proto forms of package actors/pb
// (*pb.HealthCheckNow, *pb.HealthGetStatus) with proto replies, for callers
// on another cluster member: RemoteRunCheck and RemoteStatusOf wrap them.
package health
