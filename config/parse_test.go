package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/viable-systems/vsm-connections/algedonic"
)

// mustProblems parses src and returns the error's lines, failing the test if
// it parsed clean or the error is not an *Error matching ErrInvalid.
func mustProblems(t *testing.T, src string) []string {
	t.Helper()
	c, err := Parse("vsm.yaml", []byte(src))
	if err == nil {
		t.Fatalf("Parse accepted:\n%s\ngot %+v", src, c)
	}
	if c != nil {
		t.Errorf("Parse returned a Config with an error")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("errors.Is(%v, ErrInvalid) = false", err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not *Error", err)
	}
	if got := strings.Join(problemStrings(e), "\n"); got != err.Error() {
		t.Errorf("Error() = %q, want problems joined: %q", err.Error(), got)
	}
	return problemStrings(e)
}

func problemStrings(e *Error) []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.String()
	}
	return out
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown top-level key", "nodes:\n  name: a\n",
			[]string{`vsm.yaml:1: nodes: unknown key; did you mean "node"?`}},
		{"unknown nested key", "circuit_breakers:\n  api:\n    failure_treshold: 3\n",
			[]string{`vsm.yaml:3: circuit_breakers.api.failure_treshold: unknown key; did you mean "failure_threshold"?`}},
		{"unknown key without suggestion", "admin:\n  completely_different: 1\n",
			[]string{`vsm.yaml:2: admin.completely_different: unknown key`}},
		{"explicit zero threshold", "circuit_breakers:\n  api:\n    failure_threshold: 0\n",
			[]string{`vsm.yaml:3: circuit_breakers.api.failure_threshold: must be at least 1, got 0`}},
		{"negative threshold", "circuit_breakers:\n  api:\n    success_threshold: -2\n",
			[]string{`vsm.yaml:3: circuit_breakers.api.success_threshold: must be at least 1, got -2`}},
		{"wrong type int", "supervision:\n  max_restarts: many\n",
			[]string{`vsm.yaml:2: supervision.max_restarts: want an integer, got "many"`}},
		{"quoted int is a string", "supervision:\n  max_restarts: \"3\"\n",
			[]string{`vsm.yaml:2: supervision.max_restarts: want an integer, got "3"`}},
		{"float into int", "pools:\n  a:\n    host: h\n    port: 80.5\n",
			[]string{`vsm.yaml:4: pools.a.port: want an integer, got "80.5"`}},
		{"mapping into string", "node:\n  name: {a: b}\n",
			[]string{`vsm.yaml:2: node.name: want a string, got a mapping`}},
		{"list into struct", "admin: [a, b]\n",
			[]string{`vsm.yaml:1: admin: want a mapping, got a list`}},
		{"scalar into map", "pools: nope\n",
			[]string{`vsm.yaml:1: pools: want a mapping of names, got "nope"`}},
		{"scalar into list", "redis:\n  addrs: 10.0.0.1:6379\n",
			[]string{`vsm.yaml:2: redis.addrs: want a list, got "10.0.0.1:6379"`}},
		{"top level not a mapping", "- a\n- b\n",
			[]string{`vsm.yaml:1: want a mapping, got a list`}},
		{"bad severity", "algedonic:\n  log_min: loud\n",
			[]string{`vsm.yaml:2: algedonic.log_min: algedonic: unknown severity "loud" (want info, warning, critical or emergency)`}},
		{"bad duration string", "supervision:\n  window: 5 seconds\n",
			[]string{`vsm.yaml:2: supervision.window: invalid duration "5 seconds": want a Go duration such as "5s" or an integer of milliseconds`}},
		{"negative duration", "supervision:\n  window: -5s\n",
			[]string{`vsm.yaml:2: supervision.window: invalid duration "-5s": must not be negative`}},
		{"negative ms", "supervision:\n  window: -5\n",
			[]string{`vsm.yaml:2: supervision.window: invalid duration -5: want a non-negative number of milliseconds no larger than 9223372036854`}},
		{"duration as list", "supervision:\n  window: [1]\n",
			[]string{`vsm.yaml:2: supervision.window: want a duration such as "5s" or an integer of milliseconds, got a list`}},
		{"duplicate key", "node:\n  name: a\n  name: b\n",
			[]string{`vsm.yaml:3: node.name: duplicate key (first at line 2)`}},
		{"several problems in file order", "pools:\n  a:\n    host: h\n    port: 70000\n    size: 0\nnode:\n  name: \"\"\nadmin:\n  addr: x\n",
			[]string{
				`vsm.yaml:4: pools.a.port: must be in 1..65535, got 70000`,
				`vsm.yaml:5: pools.a.size: must be at least 1, got 0`,
				`vsm.yaml:9: admin.addr: want host:port, got "x"`,
			}},
		{"decode problems reported together", "node:\n  bogus: 1\nadmin:\n  addr: [x]\nsupervision:\n  window: x\n",
			[]string{
				`vsm.yaml:2: node.bogus: unknown key`,
				`vsm.yaml:4: admin.addr: want a string, got a list`,
				`vsm.yaml:6: supervision.window: invalid duration "x": want a Go duration such as "5s" or an integer of milliseconds`,
			}},
		{"decode and validation problems together, without echoes", "pools:\n  a:\n    host: h\n    port: eighty\n    size: 0\n    circuit_breaker: nope\n",
			[]string{
				`vsm.yaml:4: pools.a.port: want an integer, got "eighty"`,
				`vsm.yaml:5: pools.a.size: must be at least 1, got 0`,
				`vsm.yaml:6: pools.a.circuit_breaker: no breaker "nope" in circuit_breakers (none is configured)`,
			}},
		{"breaker mode", "circuit_breakers:\n  a:\n    mode: sometimes\n",
			[]string{`vsm.yaml:3: circuit_breakers.a.mode: must be one of consecutive, rate; got "sometimes"`}},
		{"breaker window type", "circuit_breakers:\n  a:\n    window_type: sliding\n",
			[]string{`vsm.yaml:3: circuit_breakers.a.window_type: must be one of count, time; got "sliding"`}},
		{"failure rate zero", "circuit_breakers:\n  a:\n    failure_rate: 0\n",
			[]string{`vsm.yaml:3: circuit_breakers.a.failure_rate: must be in (0, 100], got 0`}},
		{"failure rate above 100", "circuit_breakers:\n  a:\n    failure_rate: 100.5\n",
			[]string{`vsm.yaml:3: circuit_breakers.a.failure_rate: must be in (0, 100], got 100.5`}},
		{"failure rate NaN", "circuit_breakers:\n  a:\n    failure_rate: .nan\n",
			[]string{`vsm.yaml:3: circuit_breakers.a.failure_rate: must be in (0, 100], got NaN`}},
		{"coordination", "circuit_breakers:\n  a:\n    coordination: global\n",
			[]string{`vsm.yaml:3: circuit_breakers.a.coordination: must be one of local, shared; got "global"`}},
		{"shared needs redis", "circuit_breakers:\n  a:\n    coordination: shared\n",
			[]string{`vsm.yaml:3: circuit_breakers.a.coordination: shared coordination needs Redis or a cluster: set redis.url or redis.addrs, or a cluster: section`}},
		{"bad map name", "circuit_breakers:\n  \"my breaker\": {}\n",
			[]string{`vsm.yaml:2: circuit_breakers.my breaker: name "my breaker" must be non-empty and use only letters, digits, '_', '.' and '-'`}},
		{"empty map name", "health_checks:\n  \"\": {type: tcp, target: \"h:1\"}\n",
			[]string{`vsm.yaml:2: health_checks.: name "" must be non-empty and use only letters, digits, '_', '.' and '-'`}},
		{"pool protocol", "pools:\n  a:\n    protocol: ftp\n    host: h\n    port: 21\n",
			[]string{`vsm.yaml:3: pools.a.protocol: must be one of http, websocket, grpc, redis; got "ftp"`}},
		{"pool scheme inconsistent", "pools:\n  a:\n    protocol: http\n    scheme: wss\n    host: h\n    port: 1\n",
			[]string{`vsm.yaml:4: pools.a.scheme: must be http or https for protocol http; got "wss"`}},
		{"pool missing host and port", "pools:\n  a:\n    size: 2\n",
			[]string{
				`vsm.yaml:2: pools.a.port: must be in 1..65535, got 0`,
				`vsm.yaml:2: pools.a.host: required when endpoints is empty`,
			}},
		{"pool bad endpoint", "pools:\n  a:\n    endpoints:\n      - 10.0.0.1:80\n      - 10.0.0.2\n      - \":80\"\n      - h:0\n",
			[]string{
				`vsm.yaml:5: pools.a.endpoints[1]: want host:port, got "10.0.0.2"`,
				`vsm.yaml:6: pools.a.endpoints[2]: want host:port, got ":80": the host is empty`,
				`vsm.yaml:7: pools.a.endpoints[3]: want host:port, got "h:0": the port must be a number in 1..65535`,
			}},
		{"pool load balancing", "pools:\n  a:\n    host: h\n    port: 1\n    load_balancing: random\n",
			[]string{`vsm.yaml:5: pools.a.load_balancing: must be one of round_robin, p2c; got "random"`}},
		{"pool unknown breaker", "circuit_breakers:\n  b: {}\n  c: {}\npools:\n  a:\n    host: h\n    port: 1\n    circuit_breaker: x\n",
			[]string{`vsm.yaml:8: pools.a.circuit_breaker: no breaker "x" in circuit_breakers (configured: b, c)`}},
		{"pool tls cert without key", "pools:\n  a:\n    host: h\n    port: 1\n    tls:\n      cert_file: c.pem\n",
			[]string{`vsm.yaml:5: pools.a.tls.key_file: cert_file and key_file must be given together`}},
		{"pool tls key without cert", "pools:\n  a:\n    host: h\n    port: 1\n    tls:\n      key_file: k.pem\n",
			[]string{`vsm.yaml:5: pools.a.tls.cert_file: cert_file and key_file must be given together`}},
		{"pool negative body", "pools:\n  a:\n    host: h\n    port: 1\n    max_response_body: -1\n",
			[]string{`vsm.yaml:5: pools.a.max_response_body: must not be negative, got -1`}},
		{"outlier percent", "pools:\n  a:\n    host: h\n    port: 1\n    outlier:\n      max_ejection_percent: 101\n",
			[]string{`vsm.yaml:6: pools.a.outlier.max_ejection_percent: must be in 0..100, got 101`}},
		{"check type", "health_checks:\n  a:\n    type: icmp\n    target: h\n",
			[]string{`vsm.yaml:3: health_checks.a.type: must be one of http, tcp, grpc, redis, websocket; got "icmp"`}},
		{"check target required", "health_checks:\n  a:\n    interval: 1s\n",
			[]string{`vsm.yaml:2: health_checks.a.target: required (or url)`}},
		{"check http target scheme", "health_checks:\n  a:\n    target: ftp://h/\n",
			[]string{`vsm.yaml:3: health_checks.a.target: want an http:// or https:// URL, got "ftp://h/"`}},
		{"check http target no host", "health_checks:\n  a:\n    target: http:///x\n",
			[]string{`vsm.yaml:3: health_checks.a.target: URL "http:///x" has no host`}},
		{"check tcp target", "health_checks:\n  a:\n    type: tcp\n    target: http://h/\n",
			[]string{`vsm.yaml:4: health_checks.a.target: want host:port, got "http://h/": the port must be a number in 1..65535`}},
		{"redis url scheme", "redis:\n  url: http://u:secret@h:6379\n",
			[]string{`vsm.yaml:2: redis.url: want a redis:// or rediss:// URL, got "http://u:xxxxx@h:6379"`}},
		{"redis url without scheme keeps password out", "redis:\n  url: u:secret@h:6379\n",
			[]string{`vsm.yaml:2: redis.url: want a redis:// or rediss:// URL, got "u:xxxxx@h:6379"`}},
		{"redis url unparseable keeps password out", "redis:\n  url: redis://u:secret@h:port/0\n",
			[]string{`vsm.yaml:2: redis.url: invalid URL "redis://u:xxxxx@h:port/0": invalid port ":port" after host`}},
		{"redis url bad escape in password", "redis:\n  url: redis://u:se%zzcret@h:6379/0\n",
			[]string{`vsm.yaml:2: redis.url: invalid URL "redis://u:xxxxx@h:6379/0": malformed password`}},
		{"redis url db", "redis:\n  url: redis://h:6379/zero\n",
			[]string{`vsm.yaml:2: redis.url: URL "redis://h:6379/zero": the path must be a database number`}},
		{"redis url and addrs", "redis:\n  url: redis://h:6379\n  addrs: [h:6379]\n",
			[]string{`vsm.yaml:3: redis.addrs: set either url or addrs, not both`}},
		{"redis addr", "redis:\n  addrs: [h:6379, h]\n",
			[]string{`vsm.yaml:2: redis.addrs[1]: want host:port, got "h"`}},
		{"redis master without addrs", "redis:\n  master_name: m\n",
			[]string{`vsm.yaml:2: redis.master_name: needs addrs (the Sentinel addresses)`}},
		{"redis tls", "redis:\n  url: rediss://h:1\n  tls:\n    cert_file: c\n",
			[]string{`vsm.yaml:3: redis.tls.key_file: cert_file and key_file must be given together`}},
		{"redis pool size", "redis:\n  pool_size: -1\n",
			[]string{`vsm.yaml:2: redis.pool_size: must not be negative, got -1`}},
		{"redis replica acks", "redis:\n  replica_acks: -1\n",
			[]string{`vsm.yaml:2: redis.replica_acks: must not be negative, got -1`}},
		{"attempts zero", "fault_tolerance:\n  default_max_attempts: 0\n",
			[]string{`vsm.yaml:2: fault_tolerance.default_max_attempts: must be at least 1, got 0`}},
		{"base above max", "fault_tolerance:\n  default_base_delay: 20s\n",
			[]string{`vsm.yaml:2: fault_tolerance.default_base_delay: 20s exceeds default_max_delay 10s`}},
		{"jitter", "fault_tolerance:\n  default_jitter: lots\n",
			[]string{`vsm.yaml:2: fault_tolerance.default_jitter: invalid jitter "lots": want full, equal, decorrelated, none, true or false`}},
		{"backoff", "supervision:\n  backoff_initial: 2s\n",
			[]string{`vsm.yaml:2: supervision.backoff_initial: 2s exceeds backoff_max 1s`}},
		{"admin addr", "admin:\n  addr: localhost\n",
			[]string{`vsm.yaml:2: admin.addr: want host:port, got "localhost"`}},
		{"admin port", "admin:\n  addr: \"127.0.0.1:http\"\n",
			[]string{`vsm.yaml:2: admin.addr: want host:port, got "127.0.0.1:http": the port must be a number in 0..65535`}},
		{"multiple documents", "node: {name: a}\n---\nnode: {name: b}\n",
			[]string{`vsm.yaml:2: more than one YAML document; a config file holds one`}},
		{"syntax error", "node:\n  name: a\n bad: [\n",
			[]string{`vsm.yaml:2: invalid YAML: did not find expected key`}},
		{"unknown anchor", "node: *nope\n",
			[]string{`vsm.yaml: invalid YAML: unknown anchor 'nope' referenced`}},
		{"alias cycle through merge", "circuit_breakers:\n  a: &a\n    <<: *a\n",
			[]string{`vsm.yaml:3: circuit_breakers.a: alias *a refers to a node that contains it`}},
		{"merge of a scalar", "node:\n  <<: x\n",
			[]string{`vsm.yaml:2: node: merge (<<) wants a mapping or a list of mappings, got "x"`}},
		{"non-scalar key", "node:\n  ? [a]\n  : b\n",
			[]string{`vsm.yaml:2: node: want a string key, got a list`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustProblems(t, tt.src)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestErrorFields(t *testing.T) {
	_, err := Parse("vsm.yaml", []byte("circuit_breakers:\n  api:\n    failure_threshold: 0\n"))
	var e *Error
	if !errors.As(err, &e) || len(e.Problems) != 1 {
		t.Fatalf("err = %v", err)
	}
	want := Problem{File: "vsm.yaml", Line: 3, Key: "circuit_breakers.api.failure_threshold", Msg: "must be at least 1, got 0"}
	if e.Problems[0] != want {
		t.Errorf("problem = %+v, want %+v", e.Problems[0], want)
	}
}

func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("node:\n")
	for i := range 150 {
		b.WriteString("  k")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a'+i%26)) + strings.Repeat("z", i/26) + ": 1\n")
	}
	got := mustProblems(t, b.String())
	if len(got) != maxProblems+1 {
		t.Fatalf("%d problems, want %d", len(got), maxProblems+1)
	}
	if last := got[len(got)-1]; !strings.Contains(last, "too many problems; stopped after 100") {
		t.Errorf("last problem = %q", last)
	}
}

func TestSizeLimit(t *testing.T) {
	data := []byte("node: {name: a}\n" + strings.Repeat("#", MaxSize))
	got := mustProblems(t, string(data))
	want := "vsm.yaml: input is larger than the limit of 1048576 bytes"
	if len(got) != 1 || got[0] != want {
		t.Errorf("problems = %q, want %q", got, want)
	}
}

// TestAliasBombs checks that exponential alias expansion is refused quickly,
// wherever the aliases sit.
func TestAliasBombs(t *testing.T) {
	laughs := func(use string) string {
		var b strings.Builder
		b.WriteString("x-0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
		for i := 1; i <= 9; i++ {
			b.WriteString("x-" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
			for j := range 9 {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString("*l" + string(rune('0'+i-1)))
			}
			b.WriteString("]\n")
		}
		return b.String() + use
	}
	merges := func() string {
		var b strings.Builder
		b.WriteString("circuit_breakers:\n  m0: &m0 {mode: rate}\n")
		for i := 1; i <= 12; i++ {
			b.WriteString("  m" + itoa(i) + ": &m" + itoa(i) + " {<<: [")
			for j := range 9 {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString("*m" + itoa(i-1))
			}
			b.WriteString("]}\n")
		}
		return b.String()
	}
	for name, tt := range map[string]struct {
		src   string
		valid bool
	}{
		"sequence": {laughs("redis:\n  addrs: *l9\n"), false},
		"unknown":  {laughs(""), false},
		// Each mapping's merged entries are expanded once, so this is a
		// valid config that costs little.
		"merge": {merges(), true},
		"pools": {laughs("") + "pools:\n  a: &p {endpoints: *l9}\n  b: *p\n", false},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse("bomb.yaml", []byte(tt.src))
			if tt.valid && err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
			if !tt.valid && !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v to reject", d)
			}
		})
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestEmptyInput(t *testing.T) {
	for _, src := range []string{"", "\n", "# only a comment\n", "---\n", "~\n", "null\n", "--- ~\n...\n"} {
		c, err := Parse("empty.yaml", []byte(src))
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		if !c.Equal(&Config{}) {
			t.Errorf("Parse(%q) = %+v, want the zero Config", src, c)
		}
		if !c.WithDefaults().Equal(Default()) {
			t.Errorf("Parse(%q).WithDefaults() != Default()", src)
		}
	}
}

func TestDefaults(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name")
	}
	d := Default()
	want := &Config{
		Node:        Node{Name: host, Cluster: "vsm"},
		Admin:       Admin{Addr: "127.0.0.1:7070"},
		Algedonic:   Algedonic{LogMin: algedonic.Warning, PublishMin: algedonic.Info},
		Supervision: Supervision{MaxRestarts: 3, Window: Duration(5 * time.Second), BackoffMax: Duration(time.Second)},
		Redis:       Redis{PoolSize: 10 * runtime.GOMAXPROCS(0), Timeout: Duration(5 * time.Second)},
		FaultTolerance: FaultTolerance{DefaultMaxAttempts: 3, DefaultBaseDelay: Duration(100 * time.Millisecond),
			DefaultMaxDelay: Duration(10 * time.Second), DefaultJitter: JitterFull},
		Control: Control{AuditInterval: Duration(DefaultAuditInterval), AutoscaleInterval: Duration(DefaultAuditInterval)},
	}
	if !d.Equal(want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", *d, *want)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	var nilCfg *Config
	if !nilCfg.WithDefaults().Equal(d) {
		t.Errorf("nil.WithDefaults() != Default()")
	}

	c, err := Parse("vsm.yaml", []byte(`
pools:
  p: {host: h, port: 1}
circuit_breakers:
  b: {}
health_checks:
  h: {target: "http://h/"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Pools["p"].Size != 0 || c.CircuitBreakers["b"].Mode != "" {
		t.Errorf("Parse filled in defaults: %+v", c)
	}
	// WebSocket and gRPC pools get their own protocol's defaults, and none
	// of another's.
	c.Pools["tls"] = Pool{Protocol: ProtocolWebSocket, Host: "h", Port: 1, TLS: TLS{CAFile: "ca.pem"}}
	c.Pools["g"] = Pool{Protocol: ProtocolGRPC, Host: "h", Port: 1, Timeout: Duration(2 * time.Second)}
	c.FaultTolerance.DefaultMaxAttempts = 5
	w := c.WithDefaults()
	wantPool := Pool{Protocol: "http", Scheme: "http", Host: "h", Port: 1, LoadBalancing: "round_robin", Size: 10,
		Timeout: Duration(5 * time.Second), DialTimeout: Duration(5 * time.Second), TLSHandshakeTimeout: Duration(5 * time.Second),
		ResponseHeaderTimeout: Duration(5 * time.Second), IdleTimeout: Duration(90 * time.Second), MaxResponseBody: 10 << 20,
		Outlier: Outlier{ConsecutiveFailures: 5, BaseEjectionTime: Duration(30 * time.Second), MaxEjectionPercent: 50}}
	if got := w.Pools["p"]; !equalPool(got, wantPool) {
		t.Errorf("pool defaults =\n%+v\nwant\n%+v", got, wantPool)
	}
	wantWS := Pool{Protocol: "websocket", Scheme: "wss", Host: "h", Port: 1, LoadBalancing: "round_robin", Size: 1,
		DialTimeout: Duration(5 * time.Second), TLS: TLS{CAFile: "ca.pem"},
		Path: "/", HeartbeatInterval: Duration(15 * time.Second), HeartbeatGrace: Duration(5 * time.Second),
		BackoffInitial: Duration(200 * time.Millisecond), BackoffMax: Duration(20 * time.Second),
		WriteTimeout: Duration(10 * time.Second), CloseTimeout: Duration(time.Second), WhileDisconnected: "queue",
		QueueSize: 1024, QueueTimeout: Duration(30 * time.Second), MaxMessageSize: 1 << 20}
	if got := w.Pools["tls"]; !equalPool(got, wantWS) {
		t.Errorf("websocket pool defaults =\n%+v\nwant\n%+v", got, wantWS)
	}
	// The retry defaults come from fault_tolerance.
	wantGRPC := Pool{Protocol: "grpc", Scheme: "grpc", Host: "h", Port: 1, LoadBalancing: "round_robin",
		Timeout: Duration(2 * time.Second), DialTimeout: Duration(5 * time.Second), IdleTimeout: Duration(time.Minute),
		MaxConns: 4, FailureCodes: []string{"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "INTERNAL"},
		Retry: GRPCRetry{MaxAttempts: 5, InitialBackoff: Duration(100 * time.Millisecond), MaxBackoff: Duration(10 * time.Second),
			Codes: []string{"UNAVAILABLE"}}}
	if got := w.Pools["g"]; !equalPool(got, wantGRPC) {
		t.Errorf("grpc pool defaults =\n%+v\nwant\n%+v", got, wantGRPC)
	}
	if err := w.Validate(); err != nil {
		t.Errorf("defaulted websocket and grpc pools do not validate: %v", err)
	}
	wantBreaker := Breaker{FailureThreshold: 5, RecoveryTimeout: Duration(30 * time.Second), Mode: "consecutive", WindowType: "count",
		WindowSize: 100, WindowDuration: Duration(60 * time.Second), FailureRate: 50, MinimumCalls: 10, HalfOpenMaxCalls: 1,
		SuccessThreshold: 1, Coordination: "local"}
	if got := w.CircuitBreakers["b"]; got != wantBreaker {
		t.Errorf("breaker defaults =\n%+v\nwant\n%+v", got, wantBreaker)
	}
	wantCheck := HealthCheck{Type: "http", Target: "http://h/", Interval: Duration(10 * time.Second), Timeout: Duration(2 * time.Second),
		UnhealthyInterval: Duration(10 * time.Second), JitterPercent: 10, InitialJitter: Duration(time.Second),
		HealthyThreshold: 1, UnhealthyThreshold: 3}
	if got := w.HealthChecks["h"]; !equalCheck(got, wantCheck) {
		t.Errorf("check defaults = %+v, want %+v", got, wantCheck)
	}
	delete(w.Pools, "tls")
	delete(w.Pools, "g")
	if err := w.Validate(); err != nil {
		t.Errorf("WithDefaults().Validate() = %v", err)
	}
}

func equalPool(a, b Pool) bool {
	return (&Config{Pools: map[string]Pool{"x": a}}).Equal(&Config{Pools: map[string]Pool{"x": b}})
}

func TestWithDefaultsCopies(t *testing.T) {
	c := &Config{
		Pools: map[string]Pool{"p": {Host: "h", Port: 1, Endpoints: []string{"a:1"}}},
		Redis: Redis{Addrs: []string{"r:1"}},
		Admin: Admin{Readiness: Readiness{Breakers: []string{"b"}}},
	}
	w := c.WithDefaults()
	w.Pools["p"].Endpoints[0] = "changed:1"
	w.Pools["q"] = Pool{}
	w.Redis.Addrs[0] = "changed:1"
	w.Admin.Readiness.Breakers[0] = "changed"
	if c.Pools["p"].Endpoints[0] != "a:1" || len(c.Pools) != 1 || c.Redis.Addrs[0] != "r:1" || c.Admin.Readiness.Breakers[0] != "b" {
		t.Errorf("WithDefaults shares state with its receiver: %+v", c)
	}
	if c.Pools["p"].Size != 0 {
		t.Errorf("WithDefaults modified its receiver")
	}
}

func TestDurationForms(t *testing.T) {
	tests := []struct {
		src  string
		want time.Duration
	}{
		{"250", 250 * time.Millisecond},
		{"0", 0},
		{"1_500", 1500 * time.Millisecond},
		{"0x10", 16 * time.Millisecond},
		{`"5s"`, 5 * time.Second},
		{"5s", 5 * time.Second},
		{"1.5s", 1500 * time.Millisecond},
		{"100ms", 100 * time.Millisecond},
		{"1m30s", 90 * time.Second},
		{"2h", 2 * time.Hour},
		{"750us", 750 * time.Microsecond},
		{"0s", 0},
		{"!!int 7", 7 * time.Millisecond},
	}
	for _, tt := range tests {
		c, err := Parse("d.yaml", []byte("supervision:\n  backoff_max: "+tt.src+"\n"))
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got := c.Supervision.BackoffMax.D(); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.src, got, tt.want)
		}
	}
	bad := map[string]string{
		"1.5":                               `invalid duration "1.5": want a Go duration such as "5s" or an integer of milliseconds`,
		`"250"`:                             `invalid duration "250": want a Go duration such as "5s" or an integer of milliseconds`,
		"true":                              `invalid duration "true": want a Go duration such as "5s" or an integer of milliseconds`,
		"9223372036854775807":               `invalid duration 9223372036854775807: want a non-negative number of milliseconds no larger than 9223372036854`,
		"99999999999999999999h":             `invalid duration "99999999999999999999h": want a Go duration such as "5s" or an integer of milliseconds`,
		"{a: 1}":                            `want a duration such as "5s" or an integer of milliseconds, got a mapping`,
		"!!int " + strings.Repeat("9", 100): `invalid duration 9999999999999999999999999999999999999999...: want a non-negative number of milliseconds no larger than 9223372036854`,
		strings.Repeat("1x", 100):           `invalid duration "` + strings.Repeat("1x", 40) + `"...: want a Go duration such as "5s" or an integer of milliseconds`,
	}
	for src, msg := range bad {
		got := mustProblems(t, "supervision:\n  backoff_max: "+src+"\n")
		want := "vsm.yaml:2: supervision.backoff_max: " + msg
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: problems %q, want %q", src, got, want)
		}
	}
	// Null leaves it unset.
	c, err := Parse("d.yaml", []byte("supervision:\n  backoff_max: ~\n"))
	if err != nil || c.Supervision.BackoffMax != 0 {
		t.Errorf("null duration: %v, %v", c, err)
	}
}

func TestDurationMarshal(t *testing.T) {
	out, err := yaml.Marshal(struct {
		D Duration `yaml:"d"`
	}{Duration(1500 * time.Millisecond)})
	if err != nil || string(out) != "d: 1.5s\n" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}

func TestJitter(t *testing.T) {
	for src, want := range map[string]Jitter{
		"true": JitterFull, "false": JitterNone, "full": JitterFull, "equal": JitterEqual,
		"decorrelated": JitterDecorrelated, "none": JitterNone, "Equal": JitterEqual,
	} {
		c, err := Parse("j.yaml", []byte("fault_tolerance:\n  default_jitter: "+src+"\n"))
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got := c.FaultTolerance.DefaultJitter; got != want {
			t.Errorf("%s: got %q, want %q", src, got, want)
		}
	}
	if err := (&Config{FaultTolerance: FaultTolerance{DefaultJitter: "some"}}).Validate(); err == nil ||
		err.Error() != `fault_tolerance.default_jitter: must be one of full, equal, decorrelated, none; got "some"` {
		t.Errorf("Validate with bad jitter = %v", err)
	}
}

func TestExplicitZeroVersusUnset(t *testing.T) {
	// Left out or null: the default. Written as 0: an error (see Validate).
	for _, src := range []string{"circuit_breakers:\n  a: {}\n", "circuit_breakers:\n  a:\n    failure_threshold: ~\n"} {
		if _, err := Parse("z.yaml", []byte(src)); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
	// In code there is no "written": 0 is the default.
	c := &Config{CircuitBreakers: map[string]Breaker{"a": {}}, Pools: map[string]Pool{"p": {Host: "h", Port: 1}}}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate of zero values in code: %v", err)
	}
}

func TestValidateInCode(t *testing.T) {
	c := &Config{
		Node:      Node{Cluster: "c"},
		Algedonic: Algedonic{LogMin: 9},
		Pools:     map[string]Pool{"p": {Host: "h", Port: 1, Timeout: -1}},
	}
	err := c.Validate()
	want := "algedonic.log_min: must be one of info, warning, critical, emergency; got severity(9)\n" +
		"pools.p.timeout: must not be negative, got -1ns"
	if err == nil || err.Error() != want {
		t.Errorf("Validate = %v\nwant %s", err, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("not ErrInvalid")
	}
}

func TestMerge(t *testing.T) {
	c, err := Parse("m.yaml", []byte(`
circuit_breakers:
  base: &base {mode: rate, failure_rate: 20, minimum_calls: 5}
  a:
    <<: *base
    failure_rate: 30
  b:
    <<: [{window_size: 7}, *base]
`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.CircuitBreakers["a"], c.CircuitBreakers["b"]
	if a.Mode != "rate" || a.FailureRate != 30 || a.MinimumCalls != 5 {
		t.Errorf("a = %+v", a)
	}
	if b.WindowSize != 7 || b.FailureRate != 20 {
		t.Errorf("b = %+v", b)
	}
	// A key inside a merged mapping is checked like any other.
	got := mustProblems(t, "x-base: &b {bogus: 1}\nnode:\n  <<: *b\n")
	if want := `vsm.yaml:1: x-base: unknown key`; got[0] != want {
		t.Errorf("problems %q, want first %q", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, file := range []string{"testdata/full.yaml", "testdata/sentinel.yaml", "default.yaml"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			out, err := yaml.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := Parse("marshalled", out)
			if err != nil {
				t.Fatalf("re-parse: %v\n%s", err, out)
			}
			if !c.Equal(c2) {
				t.Errorf("round trip differs:\n%+v\n%+v", *c, *c2)
			}
		})
	}
}

// TestFullSetsEveryField guards full.yaml's promise: every field has a
// non-zero value, so a field added to the structs must be added there too.
func TestFullSetsEveryField(t *testing.T) {
	c, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load("testdata/sentinel.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Redis.Addrs, c.Redis.MasterName, c.Redis.PasswordFile = s.Redis.Addrs, s.Redis.MasterName, s.Redis.PasswordFile
	var zero []string
	walkZero(t, "", c.Node, &zero)
	walkZero(t, "", *c, &zero)
	if len(zero) > 0 {
		t.Errorf("fields not set in testdata/full.yaml: %v", zero)
	}
}

func TestLoad(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("Load(missing) = %v", err)
	}
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("node:\n  nam: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if want := path + `:2: node.nam: unknown key; did you mean "name"?`; err == nil || err.Error() != want {
		t.Errorf("Load = %v, want %s", err, want)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxSize+10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "larger than the limit") {
		t.Errorf("Load(big) = %v", err)
	}
}

func TestEmbeddedDefault(t *testing.T) {
	c, err := Parse("default.yaml", DefaultYAML)
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.Enabled() {
		t.Errorf("default config needs Redis")
	}
	w := c.WithDefaults()
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	if w.Admin.Addr != DefaultAdminAddr {
		t.Errorf("admin addr %q", w.Admin.Addr)
	}
	p, ok := w.Pools["local"]
	if !ok || p.Host != "127.0.0.1" || p.Port != 7070 || p.CircuitBreaker != "local" {
		t.Errorf("pool local = %+v", p)
	}
	if _, ok := w.CircuitBreakers["local"]; !ok {
		t.Errorf("no breaker local")
	}
	// Every value written in default.yaml is the default, except the example
	// pool's smaller size.
	c.Pools = map[string]Pool{"local": {Host: "127.0.0.1", Port: 7070, Size: 4, CircuitBreaker: "local"}}
	if !c.WithDefaults().Equal(w) {
		t.Errorf("default.yaml writes a value that differs from the documented default")
	}
}

func TestRedisRedaction(t *testing.T) {
	r := Redis{URL: "redis://vsm:s3cret@h:6379/0", Password: "s3cret", Username: "vsm"}
	if got, want := r.Redacted(), "redis://vsm:xxxxx@h:6379/0"; got != want {
		t.Errorf("Redacted = %q, want %q", got, want)
	}
	for _, s := range []string{r.String(), r.GoString(), fmtV(r), fmtV(Config{Redis: r}), fmtPlusV(Config{Redis: r})} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("password printed: %s", s)
		}
		if !strings.Contains(s, "xxxxx") {
			t.Errorf("no redaction marker in %s", s)
		}
	}
	tests := map[string]string{
		"redis://:pw@h:1":      "redis://:xxxxx@h:1",
		"redis://h:1":          "redis://h:1",
		"redis://u:pw@h:port/": "redis://u:xxxxx@h:port/",
		"redis://u:p@w@h:x":    "redis://u:xxxxx@h:x",
		"u:pw@h:x%":            "u:xxxxx@h:x%",
		"":                     "",
		"u:pw@h:6379":          "u:xxxxx@h:6379",
	}
	for in, want := range tests {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (Redis{Addrs: []string{"a:1", "b:2"}, MasterName: "m"}).Redacted(); got != "m@a:1,b:2" {
		t.Errorf("sentinel Redacted = %q", got)
	}
	if got := (Redis{}).Redacted(); got != "" {
		t.Errorf("empty Redacted = %q", got)
	}
}

func TestBoolField(t *testing.T) {
	cfg, err := Parse("b.yaml", []byte("algedonic:\n  remote: true\n"))
	if err != nil || !cfg.Algedonic.Remote {
		t.Fatalf("Parse = %+v, %v", cfg, err)
	}
	_, err = Parse("b.yaml", []byte("algedonic:\n  remote: \"yes\"\n"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "b.yaml:2: algedonic.remote: want true or false") {
		t.Fatalf("quoted bool: %v", err)
	}
}

// TestPoolProtocolWithoutAdapter: a pool whose protocol has no adapter
// is refused with its line, rather than skipped when the node starts;
// websocket and grpc have theirs.
func TestPoolProtocolWithoutAdapter(t *testing.T) {
	got := mustProblems(t, `pools:
  ok: {host: h, port: 1}
  feed:
    protocol: websocket
    host: h
    port: 1
  rpc: {protocol: grpc, scheme: grpcs, host: h, port: 1}
  cache: {protocol: redis, host: h, port: 1}
`)
	want := []string{
		`vsm.yaml:8: pools.cache.protocol: protocol redis has no adapter yet; a pool can use http, websocket, grpc`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A Config built in code is checked the same way (vsm.Start validates).
	c := &Config{Pools: map[string]Pool{"cache": {Protocol: ProtocolRedis, Host: "h", Port: 1}}}
	err := c.Validate()
	if !errors.Is(err, ErrInvalid) || err.Error() != "pools.cache.protocol: protocol redis has no adapter yet; a pool can use http, websocket, grpc" {
		t.Fatalf("Validate = %v", err)
	}
}

// TestWebSocketAndGRPCKeys: each protocol's keys are checked with their
// line, and refused on another protocol's pools.
func TestWebSocketAndGRPCKeys(t *testing.T) {
	got := mustProblems(t, `pools:
  feed:
    protocol: websocket
    host: h
    port: 1
    path: ws
    headers: {"bad name": x}
    heartbeat_grace: -1s
    backoff_initial: 30s
    backoff_max: 10s
    while_disconnected: drop
    queue_size: 0
    max_message_size: -1
    max_conns: 2
    load_balancing: p2c
    timeout: 1s
    heartbeat_intervall: 1s
  rpc:
    protocol: grpc
    host: h
    port: 1
    size: 3
    max_conns: 0
    max_concurrent_streams: -1
    retry:
      max_attempts: 0
      initial_backoff: 2s
      max_backoff: 1s
      codes: [UNAVAILABLE, nope, unavailable]
    failure_codes: [internal, DEADLINE_EXCEEDED, Resource_Exhausted, Bogus]
    heartbeat_interval: 1s
    load_balancing: random
  web:
    host: h
    port: 1
    queue_size: 5
    retry: {max_attempts: 2}
    writer_only: true
`)
	want := []string{
		`vsm.yaml:6: pools.feed.path: must start with "/", got "ws"`,
		`vsm.yaml:7: pools.feed.headers.bad name: "bad name" is not a valid header name`,
		`vsm.yaml:8: pools.feed.heartbeat_grace: invalid duration "-1s": must not be negative`,
		`vsm.yaml:9: pools.feed.backoff_initial: 30s exceeds backoff_max 10s`,
		`vsm.yaml:11: pools.feed.while_disconnected: must be one of queue, fail_fast; got "drop"`,
		`vsm.yaml:12: pools.feed.queue_size: must be at least 1, got 0`,
		`vsm.yaml:13: pools.feed.max_message_size: must not be negative, got -1`,
		`vsm.yaml:14: pools.feed.max_conns: only for grpc pools, and this one is websocket`,
		`vsm.yaml:15: pools.feed.load_balancing: must be one of round_robin; got "p2c"`,
		`vsm.yaml:16: pools.feed.timeout: only for http or grpc pools, and this one is websocket`,
		`vsm.yaml:17: pools.feed.heartbeat_intervall: unknown key; did you mean "heartbeat_interval"?`,
		`vsm.yaml:22: pools.rpc.size: only for http or websocket pools, and this one is grpc; gRPC pools bound ClientConns with max_conns`,
		`vsm.yaml:23: pools.rpc.max_conns: must be at least 1, got 0`,
		`vsm.yaml:24: pools.rpc.max_concurrent_streams: must be in 0..4294967295, got -1`,
		`vsm.yaml:26: pools.rpc.retry.max_attempts: must be at least 1, got 0`,
		`vsm.yaml:27: pools.rpc.retry.initial_backoff: 2s exceeds max_backoff 1s`,
		`vsm.yaml:29: pools.rpc.retry.codes[1]: unknown gRPC status code "nope"; want one of ` + strings.Join(grpcCodes, ", "),
		`vsm.yaml:29: pools.rpc.retry.codes[2]: "unavailable" is listed twice`,
		`vsm.yaml:30: pools.rpc.failure_codes[3]: unknown gRPC status code "Bogus"; want one of ` + strings.Join(grpcCodes, ", "),
		`vsm.yaml:31: pools.rpc.heartbeat_interval: only for websocket pools, and this one is grpc`,
		`vsm.yaml:32: pools.rpc.load_balancing: must be one of round_robin, least_request, pick_first, p2c; got "random"`,
		`vsm.yaml:36: pools.web.queue_size: only for websocket pools, and this one is http`,
		`vsm.yaml:37: pools.web.retry: only for grpc pools, and this one is http; HTTP pools retry with fault_tolerance`,
		`vsm.yaml:38: pools.web.writer_only: only for websocket pools, and this one is http`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The codes are read in any case, as grpc-go numbers them.
	for name, want := range map[string]uint32{"OK": 0, "unavailable": 14, "Deadline_Exceeded": 4, "UNAUTHENTICATED": 16} {
		if got, ok := GRPCCode(name); !ok || got != want {
			t.Errorf("GRPCCode(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	if _, ok := GRPCCode("UNAVAILABLEX"); ok {
		t.Errorf("GRPCCode accepted an unknown name")
	}
}

func TestReadinessConfig(t *testing.T) {
	c, err := Parse("vsm.yaml", []byte(`
admin:
  readiness:
    redis: true
    breakers: [api]
circuit_breakers:
  api: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Admin.Readiness; !r.Redis || len(r.Breakers) != 1 || r.Breakers[0] != "api" {
		t.Fatalf("readiness = %+v", r)
	}
	got := mustProblems(t, `
circuit_breakers:
  api: {}
admin:
  readiness:
    breakers:
      - api
      - payments
      - api
      - redis
`)
	want := []string{
		`vsm.yaml:8: admin.readiness.breakers[1]: no breaker "payments" in circuit_breakers (configured: api)`,
		`vsm.yaml:9: admin.readiness.breakers[2]: breaker "api" is listed twice`,
		`vsm.yaml:10: admin.readiness.breakers[3]: no breaker "redis" in circuit_breakers (configured: api); for the Redis health breaker set admin.readiness.redis`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
