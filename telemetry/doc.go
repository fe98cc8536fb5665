// Package telemetry turns the node's event stream into Prometheus metrics.
//
// It registers its collectors on a registry the caller owns (never the
// global one) and is fed by an event subscription, so publishers pay nothing
// for it beyond the subscription's non-blocking enqueue.
//
// Metrics:
//
//	vsm_events_total{kind}                     events seen on the stream
//	vsm_actor_restarts_total{name}             restarts of supervised actors
//	vsm_actor_stops_total{name}                supervised actors that stopped for good
//	vsm_supervision_escalations_total{supervisor}
//	vsm_alerts_total{severity}                 algedonic alerts published by S5
//	vsm_breaker_transitions_total{name,to}     circuit breaker state changes
//	vsm_telemetry_events_dropped_total         events lost because this subscriber fell behind
//	vsm_alert_lane_queued                      alerts waiting in S5's alert lane (RegisterAlertLane)
//	vsm_alert_lane_dropped_total               alerts the lane refused, its backlog full while S5 was down
//
// NewRegistry adds the Go runtime and process collectors (go_*, process_*)
// to a new registry: the node uses it when not given one with WithRegistry.
package telemetry
