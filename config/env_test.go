package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/viable-systems/vsm-connections/algedonic"
)

const envBase = `node:
  name: file-node
pools:
  api:
    host: h
    port: 80
    endpoints: [a:1]
    circuit_breaker: api
  billing-v2: {host: b, port: 81}
circuit_breakers:
  api: {failure_threshold: 3}
redis:
  url: redis://h:6379
`

func mustParse(t testing.TB, src string) *Config {
	t.Helper()
	c, err := Parse("vsm.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWithEnv(t *testing.T) {
	c := mustParse(t, envBase)
	got, ignored, err := c.WithEnv([]string{
		"PATH=/bin",
		"VSM_NODE_NAME=first",
		"VSM_NODE_NAME=env-node", // the last one wins
		"VSM_POOLS_API_SIZE=7",
		"VSM_POOLS_BILLING_V2_TIMEOUT=250",
		"VSM_POOLS_API_ENDPOINTS= x:1, y:2 ,",
		"VSM_POOLS_API_TLS_CA_FILE=/etc/ca.pem",
		"VSM_CIRCUIT_BREAKERS_API_FAILURE_THRESHOLD=9",
		"VSM_REDIS_URL=", // unset: no Redis
		"VSM_ADMIN_READINESS_BREAKERS=api",
		"VSM_ADMIN_READINESS_REDIS=true",
		"VSM_ALGEDONIC_LOG_MIN=critical",
		"VSM_FAULT_TOLERANCE_DEFAULT_JITTER=false",
		"VSM_SUPERVISION_WINDOW=1m",
		"VSM_REDIS_ADDR=127.0.0.1:6379",
		"VSM_POOLS_PAYMENTS_HOST=p",
		"VSM_NOTHING=1",
		"NOT_VSM_NODE_NAME=x",
	})
	if err != nil {
		t.Fatal(err)
	}
	api := got.Pools["api"]
	for _, check := range []struct {
		name      string
		got, want any
	}{
		{"node.name", got.Node.Name, "env-node"},
		{"pools.api.size", api.Size, 7},
		{"pools.api.endpoints", api.Endpoints, []string{"x:1", "y:2"}},
		{"pools.api.tls.ca_file", api.TLS.CAFile, "/etc/ca.pem"},
		{"pools.api.host (file)", api.Host, "h"},
		{"pools.billing-v2.timeout", got.Pools["billing-v2"].Timeout, Duration(250 * time.Millisecond)},
		{"circuit_breakers.api.failure_threshold", got.CircuitBreakers["api"].FailureThreshold, 9},
		{"redis.url", got.Redis.URL, ""},
		{"admin.readiness", got.Admin.Readiness, Readiness{Redis: true, Breakers: []string{"api"}}},
		{"algedonic.log_min", got.Algedonic.LogMin, algedonic.Critical},
		{"fault_tolerance.default_jitter", got.FaultTolerance.DefaultJitter, JitterNone},
		{"supervision.window", got.Supervision.Window, Duration(time.Minute)},
	} {
		if !reflect.DeepEqual(check.got, check.want) {
			t.Errorf("%s = %#v, want %#v", check.name, check.got, check.want)
		}
	}
	wantIgnored := []string{
		`$VSM_NOTHING: names no key; ignored`,
		`$VSM_POOLS_PAYMENTS_HOST: names no key; ignored; the environment sets keys of the pools entries the config defines (it has api, billing-v2)`,
		`$VSM_REDIS_ADDR: names no key; ignored; did you mean VSM_REDIS_ADDRS?`,
	}
	var gotIgnored []string
	for _, p := range ignored {
		gotIgnored = append(gotIgnored, p.String())
	}
	if !slices.Equal(gotIgnored, wantIgnored) {
		t.Errorf("ignored =\n%s\nwant\n%s", strings.Join(gotIgnored, "\n"), strings.Join(wantIgnored, "\n"))
	}
	// c is untouched.
	if c.Node.Name != "file-node" || c.Pools["api"].Size != 0 || !slices.Equal(c.Pools["api"].Endpoints, []string{"a:1"}) || c.Redis.URL == "" {
		t.Errorf("WithEnv modified its receiver: %+v", c)
	}
	// No variable: an equal copy.
	same, ignored, err := c.WithEnv(nil)
	if err != nil || len(ignored) != 0 || !same.Equal(c) {
		t.Errorf("WithEnv(nil) = %v %v %v", same, ignored, err)
	}
}

func envProblems(t *testing.T, c *Config, env ...string) []string {
	t.Helper()
	got, _, err := c.WithEnv(env)
	if err == nil {
		t.Fatalf("WithEnv(%q) accepted: %+v", env, got)
	}
	if got != nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("WithEnv(%q) = %v, %v; want nil and ErrInvalid", env, got, err)
	}
	return problemStrings(err.(*Error))
}

func TestWithEnvErrors(t *testing.T) {
	c := mustParse(t, envBase+"  password_file: /run/secrets/pw\n")
	for _, tc := range []struct {
		env  []string
		want []string
	}{
		{[]string{"VSM_POOLS_API_SIZE=abc"}, []string{`$VSM_POOLS_API_SIZE: pools.api.size: want an integer, got "abc"`}},
		{[]string{"VSM_POOLS_API_SIZE=0"}, []string{`$VSM_POOLS_API_SIZE: pools.api.size: must be at least 1, got 0`}},
		{[]string{"VSM_POOLS_API_TIMEOUT=fast"}, []string{
			`$VSM_POOLS_API_TIMEOUT: pools.api.timeout: invalid duration "fast": want a Go duration such as "5s" or an integer of milliseconds`}},
		{[]string{"VSM_POOLS_API_ENDPOINTS=a:1,nope"}, []string{
			`$VSM_POOLS_API_ENDPOINTS: pools.api.endpoints[1]: want host:port, got "nope"`}},
		{[]string{"VSM_POOLS_API_CIRCUIT_BREAKER=missing"}, []string{
			`$VSM_POOLS_API_CIRCUIT_BREAKER: pools.api.circuit_breaker: no breaker "missing" in circuit_breakers (configured: api)`}},
		{[]string{"VSM_ALGEDONIC_REMOTE=yes"}, []string{`$VSM_ALGEDONIC_REMOTE: algedonic.remote: want true or false, got "yes"`}},
		// A rule between a key of the file and one of the environment:
		// each named where it was set.
		{[]string{"VSM_REDIS_PASSWORD=s3cret"}, []string{`vsm.yaml:14: redis.password_file: set either password or password_file, not both`}},
		{[]string{"VSM_REDIS_URL=http://u:s3cret@h/", "VSM_NODE_NAME=ok"}, []string{
			`$VSM_REDIS_URL: redis.url: want a redis:// or rediss:// URL, got "http://u:xxxxx@h/"`}},
	} {
		got := envProblems(t, c, tc.env...)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q:\n%s\nwant\n%s", tc.env, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
	// Names that read two ways are refused, not guessed.
	amb := mustParse(t, "pools:\n  api: {host: h, port: 1}\n  api_idle: {host: h, port: 1}\n  API-IDLE: {host: h, port: 1}\n")
	got := envProblems(t, amb, "VSM_POOLS_API_IDLE_TIMEOUT=1s", "VSM_POOLS_API_HOST=x", "VSM_POOLS_API_PORT=0")
	want := []string{
		`$VSM_POOLS_API_IDLE_TIMEOUT: ambiguous: it names pools.API-IDLE.timeout and pools.api.idle_timeout and pools.api_idle.timeout; rename one of the entries`,
		`$VSM_POOLS_API_PORT: pools.api.port: must be in 1..65535, got 0`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("ambiguous:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestEnvNamesUnique: no two keys of the schema share a variable, whatever
// the entry names (each map holds one entry, "x", here).
func TestEnvNamesUnique(t *testing.T) {
	c := &Config{
		Pools:           map[string]Pool{"x": {}},
		CircuitBreakers: map[string]Breaker{"x": {}},
		HealthChecks:    map[string]HealthCheck{"x": {}},
	}
	var names []string
	envNames(reflect.ValueOf(c).Elem(), "VSM", &names)
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("%s names two keys", n)
		}
		seen[n] = true
		var found [][]string
		resolveEnv(reflect.ValueOf(c).Elem(), strings.TrimPrefix(n, EnvPrefix), nil, &found)
		if len(found) != 1 {
			t.Errorf("%s resolves to %v", n, found)
		}
	}
	if len(names) < 60 || !seen["VSM_POOLS_X_OUTLIER_MAX_EJECTION_PERCENT"] || !seen["VSM_REDIS_TLS_KEY_FILE"] || !seen["VSM_ADMIN_READINESS_BREAKERS"] {
		t.Errorf("%d names: %v", len(names), names)
	}
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadSecrets(t *testing.T) {
	for data, want := range map[string]string{"s3cret\n": "s3cret", "s3cret\r\n": "s3cret", "s3cret": "s3cret", "a b\n\n": "a b\n"} {
		c := mustParse(t, "redis:\n  url: redis://h:1\n  password_file: "+writeFile(t, "pw", data)+"\n")
		got, err := c.ReadSecrets()
		if err != nil {
			t.Fatal(err)
		}
		if got.Redis.Password != want || got.Redis.PasswordFile != "" {
			t.Errorf("file %q: password %q file %q, want %q and none", data, got.Redis.Password, got.Redis.PasswordFile, want)
		}
		if c.Redis.Password != "" || c.Redis.PasswordFile == "" {
			t.Errorf("ReadSecrets modified its receiver")
		}
		if err := got.Validate(); err != nil {
			t.Errorf("read config does not validate: %v", err)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing")
	c := mustParse(t, "redis:\n  url: redis://h:1\n  password_file: "+missing+"\n")
	_, err := c.ReadSecrets()
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrNotExist) ||
		err.Error() != "vsm.yaml:3: redis.password_file: open "+missing+": no such file or directory" {
		t.Errorf("missing file: %v", err)
	}
	empty := writeFile(t, "empty", "\n")
	c = mustParse(t, "redis:\n  password_file: "+empty+"\n")
	if _, err := c.ReadSecrets(); !errors.Is(err, ErrInvalid) || err.Error() != "vsm.yaml:2: redis.password_file: "+empty+" is empty" {
		t.Errorf("empty file: %v", err)
	}
	big := writeFile(t, "big", strings.Repeat("x", MaxSecretSize+1))
	if _, err := (&Config{Redis: Redis{PasswordFile: big}}).ReadSecrets(); err == nil || !strings.Contains(err.Error(), "redis.password_file: "+big+" is larger than 65536 bytes") {
		t.Errorf("big file: %v", err)
	}
	// From the environment, the problem names the variable.
	c, _, err = mustParse(t, "").WithEnv([]string{"VSM_REDIS_PASSWORD_FILE=" + missing})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadSecrets(); err == nil || err.Error() != "$VSM_REDIS_PASSWORD_FILE: redis.password_file: open "+missing+": no such file or directory" {
		t.Errorf("missing file from env: %v", err)
	}
	// No file: nothing to read.
	if got, err := mustParse(t, "redis:\n  password: p\n").ReadSecrets(); err != nil || got.Redis.Password != "p" {
		t.Errorf("no file: %v %v", got, err)
	}
	// Both is a config problem, reported by Parse.
	got := mustProblems(t, "redis:\n  password: p\n  password_file: /x\n")
	if want := "vsm.yaml:3: redis.password_file: set either password or password_file, not both"; !slices.Equal(got, []string{want}) {
		t.Errorf("both: %q", got)
	}
}

func TestRedacted(t *testing.T) {
	c := mustParse(t, `
redis:
  url: redis://u:urlpw@h:6379/0
  password: s3cret
  password_file:
health_checks:
  web: {target: "https://probe:checkpw@web.internal/healthz"}
  db: {type: tcp, target: "db:5432"}
pools:
  feed: {protocol: websocket, host: h, port: 1, headers: {Authorization: "Bearer hdrtoken"}}
`)
	r := c.WithDefaults().Redacted()
	out, err := yaml.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"urlpw", "s3cret", "checkpw", "hdrtoken"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("redacted config shows %q:\n%s", secret, out)
		}
	}
	if r.Redis.Password != "xxxxx" || r.Redis.URL != "redis://u:xxxxx@h:6379/0" ||
		r.HealthChecks["web"].Target != "https://probe:xxxxx@web.internal/healthz" || r.HealthChecks["db"].Target != "db:5432" {
		t.Errorf("redacted = %+v", r)
	}
	if h := r.Pools["feed"].Headers; len(h) != 1 || h["Authorization"] != "xxxxx" {
		t.Errorf("redacted headers = %v", h)
	}
	if c.Redis.Password != "s3cret" || c.HealthChecks["web"].Target != "https://probe:checkpw@web.internal/healthz" ||
		c.Pools["feed"].Headers["Authorization"] != "Bearer hdrtoken" {
		t.Errorf("Redacted modified its receiver")
	}
	if p := (&Config{Redis: Redis{PasswordFile: "/run/secrets/pw"}}).Redacted().Redis; p.Password != "" || p.PasswordFile != "/run/secrets/pw" {
		t.Errorf("a password file name is not secret: %+v", p)
	}
}
