// Package balancer spreads requests over the endpoints (host:port
// instances of one service) of a pool and takes failing ones out of
// rotation for a while: passive outlier ejection as Envoy does it.
//
// Pick is the per-request call and is lock-free: it reads an immutable
// snapshot of the endpoints in rotation through an atomic pointer (the
// grpc-go picker pattern) and bumps the chosen endpoint's in-flight count.
// The caller reports the outcome with Endpoint.Done. Only the rare paths
// (an endpoint crossing its failure threshold, an ejection ending, Update)
// take the balancer's lock, rebuild the snapshot and publish it.
//
// Policies: RoundRobin ("round_robin") walks the endpoints in rotation in
// order; P2C ("p2c") samples two distinct endpoints at random and takes the
// one with fewer requests in flight.
//
// Outlier ejection, per endpoint:
//
//	           ConsecutiveFailures failures in a row
//	in rotation ─────────────────────────────────────► ejected
//	     ▲        (refused when the cap is reached:        │
//	     │         retried on the endpoint's next failure) │
//	     └─────────────────────────────────────────────────┘
//	        its ejection time ends (seen by Pick or Tick);
//	        the failure count starts again from zero
//
// A success resets the count of consecutive failures. The k-th ejection of
// an endpoint lasts BaseEjectionTime × k, at most MaxEjectionTime; the
// multiplier k drops by one for every BaseEjectionTime the endpoint then
// spends in rotation without being ejected (Envoy lowers it once per sweep
// interval while the host is healthy).
//
// The cap follows Envoy and gRPC (grpc-java #9489): an ejection is allowed
// while the share of endpoints already ejected is below
// MaxEjectionPercent. The check is made before ejecting, so the cap can be
// passed by one endpoint, and with any percentage above zero at least one
// endpoint can always be ejected. With a single endpoint nothing is ejected
// unless MaxEjectionPercent is 100: ejecting the only endpoint would turn
// every call into ErrNoEndpoint, which is the circuit breaker's job, not
// the balancer's.
//
// Ejection ends lazily: the first Pick after the end restores the
// endpoint, so no timer or goroutine is needed. An owning actor that must
// announce restorations promptly asks Next for the earliest end and calls
// Tick then. While some endpoint is ejected, Pick reads the clock (about
// 60 ns on these VMs) to see whether the ejection has ended; with nothing
// ejected it never does. Config.Listener hears of every ejection and restoration; it is
// called after the new state is published, outside any lock, on the
// goroutine that caused the change, and must not block.
//
// Outcomes carry no generation: a failure reported during an ejection is
// forgotten when the endpoint returns (its count restarts from zero), but a
// request picked before an ejection and finished after the endpoint's
// return would count against it. With ejections of seconds and request
// deadlines shorter than that, this does not arise.
package balancer
