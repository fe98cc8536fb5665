// Package cluster makes a node's actor system a member of a cluster:
// protoactor-go's remote and cluster packages, with membership from a
// ClusterProvider built on hashicorp/memberlist (SWIM gossip, the library
// under Consul, Serf and Nomad), so a cluster needs nothing installed, or
// on etcd (Config.Provider = ProviderEtcd: registrations under a lease,
// registered again when lost).
//
// # What it owns
//
//   - Membership. Start binds one host (loopback by default) for both the
//     remote (gRPC) port and the gossip (UDP+TCP) port, joins the seeds and
//     keeps retrying them while it sees no other member. Gossip can be
//     encrypted and authenticated with a shared key (Config.GossipKey).
//     Failures are found by memberlist's probes: direct, then indirect
//     through other members and a TCP ping, then a suspicion the member
//     may refute. The default Timings notice a kill -9 in about a second
//     on loopback (see Timings for the false-positive trade-off).
//   - Events. Every change of the other members is published on the actor
//     system's event stream as *event.MemberJoined / *event.MemberLeft
//     (name, instance id, address). A clean Stop is gossiped as a leave:
//     the others drop the member at once. A member restarted on the same
//     host:port comes back with a new instance id (protoactor's block list,
//     which never forgets an id that left, upstream #1083, only holds the
//     old one), so it is a MemberLeft then a MemberJoined.
//   - Members, a snapshot: name, instance id, address, status, last seen.
//   - Remote safety. protoactor's receiver trusts every frame; a frame with
//     an unknown type, a bad serializer id, a bad target or sender index
//     panics the process. A recovering gRPC interceptor ends only the
//     offending stream (RemotePanics counts them). Config.TLS makes remote
//     traffic mutually authenticated (LoadTLS: CA, certificate, key). A
//     client interceptor keeps an endpoint that protoactor stops (a member
//     left) from stopping the one opened since to the same address, which
//     lost the first messages to a member restarted there.
//   - Addressing. Connection actors are per-node named actors, not grains
//     (grains move and lose state on membership change): PID resolves "this
//     name on that member" to a PID, and Node.Send / Request refuse what
//     protoactor would mishandle: a non-proto message for another member
//     (ErrNotProto, where protoactor would drop it and the caller would
//     time out) and an address that is no member (ErrUnknownMember).
//
// # Processes and tests
//
// protoactor's remote replaces gRPC's global logger, and its cluster code
// races under -race: run one Node per process. This package's tests build
// a small member (internal/clustertest/member) without -race and drive
// several as OS processes from the -race test binary; BenchmarkRemoteRequest
// times requests inside one of them, to its own actor, to another
// member's through Node, and bare protoactor remote.
//
// # Built on it
//
// Package cluster/signals carries alerts (re-injected bare into each
// member's S5 priority mailbox) and shared breakers across the members
// without Redis. The connection actors' messages have protobuf forms in
// package actors/pb; Node.Ask is the pb.Requester their Remote* helpers
// take.
package cluster
