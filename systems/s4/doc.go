// Package s4 is System 4, Intelligence: watches the world outside the node. It owns
// the health checkers of external services and trend detection.
//
// It is a supervisor (one-for-one by default, restart intensity from the
// node's supervision config) that starts empty; its children are added with
// supervisor.Start on its PID, which the node exposes as
// Node.StartChild(ctx, "s4", spec).
package s4
