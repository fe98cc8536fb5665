// Package s1 is System 1, Operations: the units that do the work.
//
// [S1] builds them, from the node's config, under the S1 supervisor
// (one-for-one, restart intensity from the node's supervision config):
//
//	s1/breaker/<name>   one breakeractor per circuit_breakers entry
//	s1/pool/<name>      one httppool actor per pools entry, owning its
//	                    *httppool.Client (transport, slots, balancer) and
//	                    guarded by the pool's circuit_breaker
//	s1/redis            the Redis unit: a supervisor of s1/redis/store, the
//	                    state actor (package actors/redisstore)
//
// and hands them out: Breaker(name), Pool(name), Route(req) (the pool for a
// request: named, or by the absolute URL's host:port), Request, StatePID and
// State (the store, behind a gate that refuses calls while the "redis"
// health breaker, fed by System 4's probe, is not closed). S1 implements
// telemetry.BreakerSource and telemetry.PoolSource for the collectors.
//
// The actors accept their own packages' messages (breakeractor, httppool,
// redisstore); S1 itself is a Go API, not an actor.
//
// State kept here, outside the actors so that a restart loses none of it:
// the *breaker.Breaker and *httppool.Client handles, and the store. The
// maps by name are copy-on-write behind atomic pointers: lookups on the
// request path take no lock; the Add methods, serialised by a mutex,
// publish a new map. A pool's size has one writer, its actor: the
// handle's Resize is unexported, and System 3 resizes by message.
package s1
