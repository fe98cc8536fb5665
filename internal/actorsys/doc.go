// Package actorsys makes protoactor actor systems with a process registry
// sized for a node rather than protoactor's default.
//
// protoactor's registry is 1024 concurrent maps of 32 shards each: 32,768
// Go maps and about 68,000 heap objects, 2.8 MB, before the first actor
// is spawned. The collector marks all of it in every cycle, so it is the
// bulk of a node's live heap on the request path, and what the p99 of the
// HTTP stack paid beside bare net/http (BENCHMARKS.md). A few buckets
// serve as well: a PID caches its process after the first lookup, so the
// registry is touched on spawn, stop and a PID's first send, and 256
// shards keep that free of contention on any machine this runs on.
package actorsys
