// Package s4 is System 4, Intelligence: watches the world outside the node.
//
// [S4] starts the checkers under the S4 supervisor:
//
//	s4/check          the supervisor of the health checkers (StartChecks):
//	s4/check/<name>   one actors/health checker per health_checks entry,
//	                  and per check registered at run time
//	                  (Health().Register); names under s4/check cannot
//	                  collide with S4's own children
//
//	s4/redis   the Redis PING probe (StartRedisProbe): one ping per
//	           interval through the "redis" breaker, so the breaker opens
//	           when Redis stops answering and System 1's store refuses
//	           calls at once; it raises a Critical (source "s4/redis") when
//	           the breaker opens and an Info when it closes again
//
// Health() is the checkers' registry (Check, Status, AllStatus, Register),
// and S4 implements telemetry.HealthSource from its snapshots. The
// checkers' messages and state are those of package actors/health.
//
// The Redis probe accepts no messages of its own; it pings from a goroutine it
// owns, so its mailbox never waits, and stops it on Stopping or
// Restarting. It keeps no state: the breaker it feeds lives in S1.
package s4
