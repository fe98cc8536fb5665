// Command vsmnode runs a VSM Connections node.
//
//	vsmnode run [--config FILE] [--admin-addr ADDR] [--log-level L] [--dev]
//	vsmnode run --demo [--demo-up 20s] [--demo-down 15s] [--admin-addr ADDR]
//	vsmnode config check [FILE]
//	vsmnode version
//
// With no --config, run uses the embedded default config, so it needs
// nothing else installed. The admin API and dashboard listen on
// 127.0.0.1:7070 unless the config or --admin-addr says otherwise. Logs are
// JSON on stderr (console format with --dev). SIGINT or SIGTERM stops the
// node gracefully and the process exits 0; the admin API answers until the
// node has stopped, /readyz failing (503) from the start.
//
// run --demo needs nothing installed either: it starts a flaky HTTP
// service, a WebSocket echo service and a grpc.health.v1 service on free
// loopback ports, each healthy for --demo-up and failing for --demo-down in
// turn, runs a node configured from demo.yaml (filled in with their ports)
// that pools them behind breakers with two S5 rules, sends traffic through
// the pools and prints the dashboard URL on stdout. Shutdown stops the
// traffic, then the node, then the services.
//
// Every config key can be set from the environment (config.Config.WithEnv):
// VSM_ and the key path in upper case, '_' between keys, e.g. VSM_NODE_NAME,
// VSM_REDIS_URL, VSM_POOLS_API_SIZE. Flags win over the environment, which
// wins over the file. Variables that name no key are logged as warnings.
// config check prints the effective config (defaults and environment
// applied, secrets redacted) after checking it as run would, secret files
// included; with no FILE it checks the embedded default.
//
// Exit codes: 0 success, 1 runtime failure, 2 usage or invalid config.
package main
