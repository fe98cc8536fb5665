// Package signalpb holds the protobuf messages that carry cluster-wide
// signals between vsmnode members (package cluster/signals): algedonic
// alerts, and the records, probe leases and reads of shared circuit
// breakers coordinated over the cluster itself. Generated from
// signal.proto; regenerate with `go generate ./cluster/signalpb/`.
package signalpb
