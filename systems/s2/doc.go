// Package s2 is System 2, Coordination: keeps the operational units from
// oscillating and fighting each other.
//
// [Start] builds, under the S2 supervisor:
//
//	s2/breaker/<name>   one coordinator (package coord) per breaker whose
//	                    coordination is shared: one half-open prober across
//	                    the cluster, trips and manual commands spread over
//	                    Redis pub/sub
//	s2/algedonic        the alert bridge: publishes this node's alerts to
//	                    the cluster and, with remote alerts on, delivers the
//	                    other nodes' to this node's S5
//
// and returns an [S2] exposing their counters (SharedBreakerStats,
// AlertBridgeStats), the bridge (for S5's publish action) and PublishOwn,
// the S5 reaction that publishes the node's own alerts.
//
// The coordinators accept coord's messages (*coord.Ping → *coord.Pong).
// State kept outside them, so a restart loses none: their Stats, and the
// cluster's records in the store.
package s2
