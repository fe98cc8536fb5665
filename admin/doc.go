// Package admin is the node's admin HTTP API and live dashboard. vsmnode
// serves it on 127.0.0.1:7070 by default; a service that embeds a node can
// mount New(node) on a mux of its own.
//
// Endpoints:
//
//	GET  /                 live dashboard (HTML; tree, alerts and events)
//	GET  /healthz          200 {"status":"ok"} while the node runs
//	GET  /api/v1/tree      the supervision tree as JSON
//	GET  /api/v1/events    Server-Sent Events: every event, as JSON, live;
//	                       ?kind=breaker. keeps kinds with that prefix
//	POST /api/v1/alerts    {"severity":"critical","source":"ops","reason":"..."} → 202
//	GET  /metrics          Prometheus text of the node's registry
//
// Errors are JSON {"error": "..."} with a 4xx status; a malformed request
// never harms the node. Each SSE client has a bounded queue: a client that
// reads too slowly loses events (the stream says how many in a comment line)
// and never slows the node.
package admin
