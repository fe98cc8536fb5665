// Package s3 is System 3, Control: manages the resources in use now. It owns pool
// statistics, resizing (update_pool), load shedding and policy enforcement,
// and the S3* audit of System 1 units.
//
// It is a supervisor (one-for-one by default, restart intensity from the
// node's supervision config) that starts empty; its children are added with
// supervisor.Start on its PID, which the node exposes as
// Node.StartChild(ctx, "s3", spec).
package s3
