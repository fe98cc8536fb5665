// Package s3 is System 3, Control: manages the resources in use now.
//
// [S3] is the controller of System 1's pools:
//
//   - Resize(ctx, name, size) is update_pool: it sends the pool actor a
//     *httppool.ResizePool, since the actor is the only writer of the size
//     (it publishes event.PoolResized); the node's Pool.Resize, ResizePool
//     and the admin API's POST /api/v1/pools/{name} all come here;
//   - PoolStats() are the node-wide pool stats (the seed's pool_stats()),
//     read from the handles without a mailbox hop;
//   - Shed(ctx, name, target) shrinks a pool relative to its configured
//     size: S5's shed_pool action.
//
// StartControl supervises the controller "s3/control", which acts on what
// S4 and S1 report, by policy (config control:):
//
//   - health policies ([HealthPolicy]): while a pool's health check is
//     Unhealthy, S3 keeps the pool's breaker open by hand (open_breaker,
//     then close_breaker on recovery) or its endpoint held out of the
//     balancer (eject_endpoint, then restore_endpoint), or only reports
//     (none). The controller hears of *event.HealthChanged through the
//     event stream, and also reconciles at start and at every audit, so
//     a missed event or a failed action is caught up;
//   - autoscaling ([Autoscale]): every AutoscaleInterval it grows a busy
//     pool (callers waiting, checkouts timing out or slow, high
//     utilisation) and shrinks an idle one, within [Min, Max], through
//     Resize, on a goroutine so that the mailbox never waits;
//   - the S3* audit: every AuditInterval (on an injectable clock) it checks
//     that each pool's actor runs and has the size S3 last set, and each
//     breaker's actor runs. A new disagreement raises a Warning from
//     AuditSource and its end an Info.
//
// Every action and audit finding is an *event.ControlAction whose Reason
// says why.
//
// The controller accepts no messages of its own beyond the events it
// subscribed to and its timer. Its state (which policies are applied,
// the open findings) and the sizes S3 last set live in the S3 value and
// the controller's props, outside the actor, so a restart keeps them.
package s3
