// Package pool is the generic resource pool core under every protocol
// adapter: resources made by a Factory, checked out with Get and returned
// with Lease.Release or Lease.Discard, at most Size in use at once.
//
// It owns no goroutine and knows nothing of actors or protocols. The pool
// actor in S1 owns a Pool, resizes it (update_pool) and turns its Stats into
// events and metrics; the request path calls Get and Release directly from
// any goroutine.
//
// State kept, all under one mutex that the fast path holds for a few
// nanoseconds (go-redis internal/pool keeps the same shape):
//
//   - a LIFO stack of idle resources (the most recently used is reused
//     first, so the stale ones sink to the bottom and age out together);
//   - the number of slots in use (checked out or being created), never more
//     than Size once a shrink has drained;
//   - a FIFO queue of waiters, each served by direct hand-off so a released
//     resource cannot be stolen by a newcomer while someone waits.
//
// A slot moves through these states:
//
//	            Get (slot free, idle at hand)
//	  idle ───────────────────────────────────► in use
//	   ▲                                          │
//	   │ Release (room below Size and MaxIdle)    │ Release, waiter queued:
//	   └──────────────────────────────────────────┤ handed straight over
//	                                              │
//	closed ◄──────────────────────────────────────┘ Discard, Healthy false,
//	                                                above Size after a shrink,
//	                                                or pool closed
//
// Broken resources are replaced lazily: the next Get that finds no idle
// resource asks the Factory for a new one.
package pool
