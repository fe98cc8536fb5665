// Package admin is the node's admin HTTP API and live dashboard. vsmnode
// serves it on 127.0.0.1:7070 by default; a service that embeds a node can
// mount New(node) on a mux of its own.
//
// Endpoints:
//
//	GET  /                 live dashboard (one embedded HTML file, nothing
//	                       from the internet): upstream tiles, tree, pools,
//	                       health checks, algedonic feed, controls
//	GET  /livez            liveness: the process answers; never consults a dependency
//	GET  /readyz           readiness: every check of Node.ReadinessChecks passes
//	                       (the node is not stopping, plus admin.readiness and
//	                       checks added with Node.AddReadinessCheck)
//	GET  /livez/{check}, /readyz/{check}   one check
//	GET  /healthz          /livez under its old name; its plain answer stays
//	                       {"status":"ok","node":...}
//	GET  /api/v1/tree      the supervision tree as JSON (TreeNode: restarts,
//	                       mailbox depth, supervisors' intensity)
//	GET  /api/v1/events    Server-Sent Events: every event, as JSON, live;
//	                       ?kind=breaker. keeps kinds with that prefix;
//	                       ?kind=breaker.,health. any of several
//	POST /api/v1/alerts    {"severity":"critical","source":"ops","reason":"..."} → 202
//	GET  /metrics          Prometheus text of the node's registry
//
// The probes answer as the Kubernetes API server's do: plain text "ok" and
// 200, or 503 with one "[+]name ok" / "[-]name failed: reason" line per
// check and a final "readyz check failed"; ?verbose lists the checks on
// success too ("readyz check passed"), ?exclude=name skips one. The checks
// run at once, bounded by WithProbeTimeout.
//
// BreakerRoutes, PoolRoutes and HealthRoutes add the endpoints of the
// node's breakers, pools and health checks (HealthRoutes takes any
// HealthChecks, such as *health.Registry); the dashboard uses them all and
// degrades to "no ..." for what is not mounted.
//
// Errors are JSON {"error": "..."} with a 4xx status; a malformed request
// never harms the node. Each SSE client has a bounded queue: a client that
// reads too slowly loses events (the stream says how many in a comment line)
// and never slows the node.
package admin
