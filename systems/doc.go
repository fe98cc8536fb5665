// Package systems holds what the five Viable System Model systems share: the
// way each becomes a supervisor child of the node root. The systems
// themselves live in s1 … s5, one package each, with their role documented
// there.
//
// A system is an ordinary supervisor (package supervisor). Each system's
// package builds, from its part of the config, the children it supervises
// (with supervisor.Start on the system's PID) and exposes them through a
// small Go API that the root package hands out. Users add children of
// their own with Node.StartChild.
package systems
