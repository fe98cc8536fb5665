// Package s1 is System 1, Operations: the units that do the work. One operational unit
// per configured pool (pool actor, its adapter connections, its breaker) and
// one actor per configured circuit breaker, registered as s1/pool/<name> and
// s1/breaker/<name>.
//
// It is a supervisor (one-for-one by default, restart intensity from the
// node's supervision config) that starts empty; its children are added with
// supervisor.Start on its PID, which the node exposes as
// Node.StartChild(ctx, "s1", spec).
package s1
