// Package s1 is System 1, Operations: the units that do the work.
//
// [S1] builds them, from the node's config, under the S1 supervisor
// (one-for-one, restart intensity from the node's supervision config):
//
//	s1/breaker/<name>   one breakeractor per circuit_breakers entry
//	s1/pool/<name>      one unit per pools entry, guarded by the pool's
//	                    circuit_breaker:
//	                    http: an httppool actor owning its *httppool.Client
//	                    (transport, slots, balancer);
//	                    websocket: a supervisor (one-for-one, the node's
//	                    intensity) of s1/pool/<name>/conn/<i>, one ws
//	                    connection actor each, the *ws.Pool their handle;
//	                    grpc: the grpcpool channel actor owning the set of
//	                    ClientConns of its *grpcpool.Channel
//	s1/redis            the Redis unit: a supervisor of s1/redis/store, the
//	                    state actor (package actors/redisstore)
//
// and hands them out: Breaker(name), Pool(name), WebSocket(name), GRPC(name),
// PoolPID(name), Route(req) (the HTTP pool for a
// request: named, or by the absolute URL's host:port), Request, StatePID and
// State (the store, behind a gate that refuses calls while the "redis"
// health breaker, fed by System 4's probe, is not closed). S1 implements
// telemetry.BreakerSource, telemetry.PoolSource and
// telemetry.ConnPoolSource for the collectors. Close closes the WebSocket
// and gRPC handles, once the node has stopped S1.
//
// The actors accept their own packages' messages (breakeractor, httppool,
// ws, grpcpool, redisstore); S1 itself is a Go API, not an actor. Every
// unit S1 starts, and the state actor, has protoactor's default mailbox,
// no per-message middleware, and the dispatcher of internal/dispatch
// (each mailbox run's stack grown at its base, so a reply does not copy
// it mid-handler): a request to a unit costs what one to a bare actor
// does (BenchmarkActorRequest, BenchmarkActorSend).
//
// State kept here, outside the actors so that a restart loses none of it:
// the *breaker.Breaker, *httppool.Client, *ws.Pool and *grpcpool.Channel
// handles, and the store. The
// maps by name are copy-on-write behind atomic pointers: lookups on the
// request path take no lock; the Add methods, serialised by a mutex,
// publish a new map. StartBreakers and StartPools start the configured
// units in batches (supervisor.StartAll: one request, concurrent starts
// under S1's one-for-one) and publish each batch in one copy of the map,
// which is what lets a node with 10,000 breakers start in well under a
// second. A pool's size has one writer, its actor: the
// handle's Resize is unexported, and System 3 resizes by message.
package s1
