// Package config reads, defaults and validates a node's YAML configuration.
//
// # Reading
//
// Parse decodes one YAML document strictly: an unknown key, a value of the
// wrong type, a duplicate key or an invalid value is an error, and every
// problem found is reported at once as an *Error whose lines read
//
//	vsm.yaml:12: circuit_breakers.api.failure_threshold: must be at least 1, got 0
//
// (file, line, key path, message; errors.Is(err, ErrInvalid) matches).
// Load does the same for a file. Input is limited to MaxSize (1 MiB), and
// alias and merge-key expansion to a fixed budget, so a hostile file (a
// "billion laughs") is refused quickly. Anchors, aliases and merge keys
// (<<: *base) work as in YAML 1.1. A password in redis.url never appears in
// an error, in Redis.String or in Redis.Redacted.
//
// Empty input (or a file of comments) is the zero Config. The Config that
// Parse returns is not defaulted, so a caller can tell a key left out from
// one written with its default value; WithDefaults returns the copy with
// every default filled in, which is what a node runs with. Validate checks
// a Config (parsed or built in code) as the node would use it.
//
// # Environment and secrets
//
// WithEnv applies environment variables over a Config: VSM_ and the key
// path in upper case, '_' between keys (VSM_NODE_NAME,
// VSM_POOLS_API_SIZE, VSM_REDIS_ADDRS=h1:1,h2:2); see WithEnv for the whole
// rule. The caller passes the environment in: nothing in this package reads
// the process environment. Problems of values from the environment read
//
//	$VSM_POOLS_API_SIZE: pools.api.size: must be at least 1, got 0
//
// ReadSecrets reads the secrets given as files (redis.password_file) into
// their keys; vsm.Start calls it. Redacted returns a copy safe to show.
//
// DefaultYAML is the embedded configuration that vsmnode uses when given
// none; it documents every key and needs nothing else installed.
//
// # File format
//
// Every key is optional; a key left out or null takes its default. Durations
// are Go duration strings ("250ms", "1m30s") or a bare integer of
// milliseconds. Names of pools, breakers and health checks use letters,
// digits, '_', '.' and '-'. Counts that must be at least 1 (thresholds,
// sizes, attempts) default when left out but are an error when written as 0.
//
//	node:              # identity
//	  name:            # default: the host name
//	  cluster: vsm     # nodes of a cluster share breaker state and alerts
//	admin:
//	  addr: 127.0.0.1:7070   # the admin HTTP API; ":7070" for every interface
//	  readiness:             # what GET /readyz waits for besides the node running
//	    redis: false         # the state backend answers (check "redis")
//	    breakers: [api]      # these breakers are not open (checks "breaker/api")
//	algedonic:         # System 5's alert policy: info, warning, critical, emergency
//	  log_min: warning
//	  publish_min: info
//	  remote: false           # also receive other nodes' alerts (needs redis)
//	  policy:                 # S5's rules (see Policy); default none
//	    match: first          # or all
//	    webhooks: {workers: 2, queue: 64, timeout: 5s}
//	    rules:
//	      - name: api-down
//	        min_severity: critical   # or severity: (exact)
//	        source_prefix: s1/pool/  # or source: (exact), source_glob:
//	        actions:                 # one key each: log, publish, open_breaker,
//	          - open_breaker: api    # shed_pool (+ fraction, min_size),
//	          - webhook: http://127.0.0.1:9000/alerts  # webhook (+ timeout)
//	supervision:       # restart intensity of the system supervisors
//	  max_restarts: 3
//	  window: 5s
//	  backoff_initial: 0s
//	  backoff_max: 1s
//	circuit_breakers:
//	  <name>:
//	    mode: consecutive        # or rate
//	    failure_threshold: 5     # consecutive mode
//	    recovery_timeout: 30s    # open -> half-open
//	    call_timeout: 0s         # 0: the caller's context only
//	    window_type: count       # rate mode: count or time
//	    window_size: 100
//	    window_duration: 60s
//	    failure_rate: 50         # percent, 0 < r <= 100
//	    minimum_calls: 10
//	    slow_call_threshold: 0s  # 0 disables
//	    half_open_max_calls: 1
//	    success_threshold: 1
//	    probe_timeout: 0s        # 0: twice call_timeout, else 60s
//	    coordination: local      # or shared (across the cluster; needs redis)
//	pools:
//	  <name>:
//	    protocol: http           # http, websocket or grpc; redis: no adapter (refused)
//	    scheme: http             # http/https, ws/wss, grpc/grpcs, redis/rediss;
//	                             # default the plain one, or TLS with tls files
//	    host: api.internal       # host and port, or endpoints
//	    port: 443                # 1..65535
//	    endpoints: [h1:443, h2:443]
//	    load_balancing: round_robin   # or p2c
//	    size: 10
//	    timeout: 5s
//	    circuit_breaker: <breaker name>
//	    dial_timeout: 5s
//	    tls_handshake_timeout: 5s
//	    response_header_timeout: 5s   # default: timeout
//	    idle_timeout: 90s
//	    max_response_body: 10485760   # bytes
//	    request_events: false         # per-attempt pool.checkout and adapter.request events
//	    tls: {ca_file: , cert_file: , key_file: , server_name: }  # cert and key together
//	    outlier:
//	      consecutive_failures: 5     # negative disables ejection
//	      base_ejection_time: 30s
//	      max_ejection_percent: 50    # 0..100
//	health_checks:
//	  <name>:
//	    type: http               # http, tcp, grpc, redis (the node's own) or websocket
//	    url: http://api.internal/healthz  # http, websocket; address: host:port for tcp, grpc
//	                             # target: alias of url / address
//	    interval: 10s
//	    unhealthy_interval: 10s  # default interval
//	    timeout: 2s
//	    jitter_percent: 10       # negative disables
//	    initial_jitter: 1s       # default interval × jitter_percent
//	    healthy_threshold: 1
//	    unhealthy_threshold: 3
//	    critical: false          # true: algedonic Critical when unhealthy, Info on recovery
//	    service: ""              # grpc
//	    expected_status: [200, 204]  # http; default any 2xx
//	    body_contains: ok        # http
//	    body_regexp: "v[0-9]+"   # http
//	redis:                       # unset: everything in-process, single node
//	  url: redis://user:pass@host:6379/0   # or rediss://
//	  addrs: [h1:26379, h2:26379]          # Sentinel/Cluster, instead of url
//	  master_name: mymaster                # Sentinel, with addrs
//	  username:
//	  password:
//	  password_file:             # a file holding the password instead (one
//	                             # trailing newline dropped); not with password
//	  pool_size: 0               # default 10 per CPU
//	  timeout: 5s
//	  tls: {ca_file: , cert_file: , key_file: , server_name: }
//	fault_tolerance:             # retry defaults for calls that give none
//	  default_max_attempts: 3    # counts the first try
//	  default_base_delay: 100ms  # at most default_max_delay
//	  default_max_delay: 10s
//	  default_jitter: full       # full, equal, decorrelated, none; true/false
//
// See default.yaml (DefaultYAML) for the same with explanations.
package config
