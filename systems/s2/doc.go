// Package s2 is System 2, Coordination: keeps the operational units from oscillating
// and fighting each other. It owns the pub/sub coordination bus, cluster-wide
// breaker coordination (one half-open prober across the cluster) and shared
// retry budgets.
//
// It is a supervisor (one-for-one by default, restart intensity from the
// node's supervision config) that starts empty; its children are added with
// supervisor.Start on its PID, which the node exposes as
// Node.StartChild(ctx, "s2", spec).
package s2
