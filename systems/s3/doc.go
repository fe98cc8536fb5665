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
// S3 keeps no state of its own (sizes live in the pools) and has no actor
// yet: its supervisor, s3, starts empty, ready for the controllers and the
// S3* audit to come.
package s3
