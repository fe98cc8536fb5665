// Package vsm is the Go face of VSM Connections: a node that runs the five
// systems of Stafford Beer's Viable System Model as protoactor-go supervision
// trees, and gives services fault-tolerant connectivity through them.
//
// Start a node, use it, stop it:
//
//	node, err := vsm.Start(ctx, nil) // nil: the embedded default config
//	if err != nil { ... }
//	defer node.Stop(context.Background())
//
// The supervision tree of a node (stable names in brackets):
//
//	root ("")             top-level one-for-one; gives up with an Emergency alert
//	├── s5                Policy: identity, config, the final say on alerts
//	│   └── s5/policy     receives every algedonic alert (its alert lane)
//	├── s4                Intelligence: health of the outside world (s4/redis)
//	├── s3                Control: pool stats, resizing, shedding
//	├── s2                Coordination: pub/sub bus, cluster-wide breakers
//	├── s1                Operations: pools, adapters, breakers, the Redis unit
//	└── user              users' own actors (Node.Spawn, Node.SpawnSupervisor)
//
// Systems start in that order and stop in reverse. Any actor can be found by
// its stable name with Node.Lookup; Node.Tree is a snapshot of the whole tree.
//
// This package is a facade: each system's package (systems/s1 … s5) builds,
// from its part of the config, the children it supervises and owns them;
// the node starts the systems in order and hands out what they own. The
// per-system APIs are Node.Operations (S1: breakers, pools, the Redis unit
// by name), Node.Coordination (S2), Node.Control (S3: pool stats, resize,
// shed) and Node.Intelligence (S4: checkers); Node.Breaker, Node.Pool,
// Node.Request, Node.State and the like are thin delegations to them.
//
// Alerts (package algedonic) never climb the tree: Node.Raise, or any actor
// holding Node.Alerts(), hands them straight to S5's alert lane, where S5
// handles them on the raiser's goroutine (or right after the alert it is
// handling): they wait neither behind ordinary messages nor for S5's actor
// to be scheduled.
//
// Events (package event, re-exported here as Event) are typed values on the
// actor system's event stream. Node.Subscribe and Node.SubscribePID give each
// subscriber a bounded queue, so a slow one loses events (counted) and never
// slows the node.
package vsm
