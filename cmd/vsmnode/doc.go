// Command vsmnode runs a VSM Connections node.
//
//	vsmnode run [--config FILE] [--admin-addr ADDR] [--log-level L] [--dev]
//	vsmnode config check FILE
//	vsmnode version
//
// With no --config, run uses the embedded default config, so it needs
// nothing else installed. The admin API and dashboard listen on
// 127.0.0.1:7070 unless the config or --admin-addr says otherwise. Logs are
// JSON on stderr (console format with --dev). SIGINT or SIGTERM stops the
// node gracefully and the process exits 0.
//
// Exit codes: 0 success, 1 runtime failure, 2 usage or invalid config.
package main
