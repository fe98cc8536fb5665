package config

import _ "embed"

// DefaultYAML is the configuration vsmnode runs with when given no --config:
// every section documented, admin on 127.0.0.1:7070, no Redis, and one
// example pool ("local", guarded by breaker "local") that calls the node's
// own admin API so it needs nothing else installed. It is also a commented
// template to copy.
//
//go:embed default.yaml
var DefaultYAML []byte
