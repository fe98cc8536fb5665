// Package systems holds what the five Viable System Model systems share: the
// way each becomes a supervisor child of the node root. The systems
// themselves live in s1 … s5, one package each, with their role documented
// there.
//
// A system is an ordinary supervisor (package supervisor). Later parts of
// the node add their actors to a system at run time with supervisor.Start on
// the system's PID (the node wraps it as Node.StartChild); no system's code
// is edited to add a child.
package systems
