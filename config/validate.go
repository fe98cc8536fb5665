package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/viable-systems/vsm-connections/algedonic"
)

// Validate checks c as the node would use it: the values of c.WithDefaults()
// against the rules below, so a zero value is fine wherever it means a
// default. It returns nil or an *Error listing every problem (errors.Is(err,
// ErrInvalid)); for a Config from Parse or Load each problem names the file
// and line.
//
// Counts that must be at least 1 (thresholds, sizes, attempts) may be left
// out to get the default, but a 0 written in the file is reported: it would
// otherwise silently become the default, which is rarely what "0" meant.
func (c *Config) Validate() error {
	if c == nil {
		c = &Config{}
	}
	v := &validator{src: c.src}
	d := c.WithDefaults()

	v.nonEmpty("node.name", d.Node.Name)
	v.nonEmpty("node.cluster", d.Node.Cluster)
	if err := checkHostPort(d.Admin.Addr, true, 0); err != nil {
		v.problem("admin.addr", "%v", err)
	}
	v.readiness("admin.readiness", c.Admin.Readiness, c.CircuitBreakers)
	v.readinessChecks("admin.readiness.health_checks", c.Admin.Readiness.HealthChecks, c.HealthChecks)
	v.control("control", d)
	v.severity("algedonic.log_min", c.Algedonic.LogMin)
	v.severity("algedonic.publish_min", c.Algedonic.PublishMin)
	v.policy("algedonic.policy", c.Algedonic.Policy)

	s := d.Supervision
	v.atLeast1("supervision.max_restarts", c.Supervision.MaxRestarts)
	v.nonNegative("supervision.window", s.Window)
	v.nonNegative("supervision.backoff_initial", s.BackoffInitial)
	v.nonNegative("supervision.backoff_max", s.BackoffMax)
	if s.BackoffInitial > s.BackoffMax {
		v.problem("supervision.backoff_initial", "%s exceeds backoff_max %s", s.BackoffInitial, s.BackoffMax)
	}

	for _, name := range sortedKeys(c.CircuitBreakers) {
		v.breaker("circuit_breakers."+name, name, c.CircuitBreakers[name], d.CircuitBreakers[name], d.Redis.Enabled() || d.Cluster.Enabled())
	}
	for _, name := range sortedKeys(c.Pools) {
		v.pool("pools."+name, name, c.Pools[name], d.Pools[name], c.CircuitBreakers)
	}
	for _, name := range sortedKeys(c.HealthChecks) {
		v.healthCheck("health_checks."+name, name, c.HealthChecks[name], d.HealthChecks[name])
	}
	v.redis("redis", c.Redis, d.Redis)
	v.cluster("cluster", c.Cluster)

	f := d.FaultTolerance
	v.atLeast1("fault_tolerance.default_max_attempts", c.FaultTolerance.DefaultMaxAttempts)
	v.nonNegative("fault_tolerance.default_base_delay", f.DefaultBaseDelay)
	v.nonNegative("fault_tolerance.default_max_delay", f.DefaultMaxDelay)
	if f.DefaultBaseDelay > f.DefaultMaxDelay {
		v.problem("fault_tolerance.default_base_delay", "%s exceeds default_max_delay %s", f.DefaultBaseDelay, f.DefaultMaxDelay)
	}
	if !f.DefaultJitter.Valid() {
		v.problem("fault_tolerance.default_jitter", "must be one of full, equal, decorrelated, none; got %s", quote(string(f.DefaultJitter)))
	}

	if len(v.problems) == 0 {
		return nil
	}
	return &Error{Problems: capProblems(sortProblems(v.problems))}
}

type validator struct {
	src      *source
	problems []Problem
	scratch  []byte // explicitIn's key, reused
}

func (v *validator) problem(key, format string, args ...any) {
	p := Problem{Key: key, Msg: fmt.Sprintf(format, args...)}
	if v.src != nil {
		if env := v.env(key); env != "" {
			p.Env = env
		} else {
			p.File = v.src.file
			p.Line = v.line(key)
		}
	}
	v.problems = append(v.problems, p)
}

// env is the environment variable that set key or the list or section it
// is in, if one did.
func (v *validator) env(key string) string {
	for key != "" {
		if e, ok := v.src.env[key]; ok {
			return e
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return ""
		}
		key = key[:i]
	}
	return ""
}

// line finds the line of key or, for a key not written in the file (a
// missing required one), of its nearest written ancestor.
func (v *validator) line(key string) int {
	for key != "" {
		if l, ok := v.src.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
	return 0
}

// explicit reports whether key was written in the parsed file with a value.
func (v *validator) explicit(key string) bool { return v.src != nil && v.src.set[key] }

// The ...In forms check the field key.field and build that key only for a
// problem: a config of 10,000 breakers has some 150,000 such checks, and
// building every key made Validate allocate 1.7 KB per breaker.

// explicitIn is explicit(key+"."+field) without building the string: a
// map lookup of string(bytes) does not allocate.
func (v *validator) explicitIn(key, field string) bool {
	if v.src == nil || len(v.src.set) == 0 {
		return false
	}
	v.scratch = append(append(append(v.scratch[:0], key...), '.'), field...)
	return v.src.set[string(v.scratch)]
}

func (v *validator) atLeast1In(key, field string, raw int) {
	if raw < 0 || (raw == 0 && v.explicitIn(key, field)) {
		v.problem(key+"."+field, "must be at least 1, got %d", raw)
	}
}

func (v *validator) nonNegativeIn(key, field string, d Duration) {
	if d < 0 {
		v.problem(key+"."+field, "must not be negative, got %s", d)
	}
}

func (v *validator) oneOfIn(key, field, got string, allowed ...string) bool {
	if slices.Contains(allowed, got) {
		return true
	}
	return v.oneOf(key+"."+field, got, allowed...)
}

func (v *validator) nonEmpty(key, s string) {
	if s == "" {
		v.problem(key, "must not be empty")
	}
}

func (v *validator) atLeast1(key string, raw int) {
	if raw < 0 || (raw == 0 && v.explicit(key)) {
		v.problem(key, "must be at least 1, got %d", raw)
	}
}

func (v *validator) nonNegative(key string, d Duration) {
	if d < 0 {
		v.problem(key, "must not be negative, got %s", d)
	}
}

func (v *validator) oneOf(key, got string, allowed ...string) bool {
	if slices.Contains(allowed, got) {
		return true
	}
	v.problem(key, "must be one of %s; got %s", strings.Join(allowed, ", "), quote(got))
	return false
}

func (v *validator) severity(key string, s algedonic.Severity) {
	if s != 0 && !s.Valid() {
		v.problem(key, "must be one of info, warning, critical, emergency; got %s", s)
	}
}

// validName reports whether name matches ^[A-Za-z0-9_.-]+$, without the
// regexp's cost (a node validates one name per configured unit).
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := range len(name) {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

func (v *validator) name(key, name string) {
	if !validName(name) {
		v.problem(key, "name %s must be non-empty and use only letters, digits, '_', '.' and '-'", quote(name))
	}
}

func (v *validator) tls(key string, t TLS) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		missing := key + ".key_file"
		if t.CertFile == "" {
			missing = key + ".cert_file"
		}
		v.problem(missing, "cert_file and key_file must be given together")
	}
}

func (v *validator) breaker(key, name string, raw, b Breaker, shareable bool) {
	v.name(key, name)
	v.oneOfIn(key, "mode", b.Mode, ModeConsecutive, ModeRate)
	v.oneOfIn(key, "window_type", b.WindowType, WindowCount, WindowTime)
	if raw.FailureRate != 0 || v.explicitIn(key, "failure_rate") {
		if r := raw.FailureRate; !(r > 0 && r <= 100) || math.IsNaN(r) {
			v.problem(key+".failure_rate", "must be in (0, 100], got %v", r)
		}
	}
	v.atLeast1In(key, "failure_threshold", raw.FailureThreshold)
	v.atLeast1In(key, "window_size", raw.WindowSize)
	v.atLeast1In(key, "minimum_calls", raw.MinimumCalls)
	v.atLeast1In(key, "half_open_max_calls", raw.HalfOpenMaxCalls)
	v.atLeast1In(key, "success_threshold", raw.SuccessThreshold)
	v.nonNegativeIn(key, "recovery_timeout", b.RecoveryTimeout)
	v.nonNegativeIn(key, "call_timeout", b.CallTimeout)
	v.nonNegativeIn(key, "window_duration", b.WindowDuration)
	v.nonNegativeIn(key, "slow_call_threshold", b.SlowCallThreshold)
	v.nonNegativeIn(key, "probe_timeout", b.ProbeTimeout)
	if v.oneOfIn(key, "coordination", b.Coordination, CoordinationLocal, CoordinationShared) &&
		b.Coordination == CoordinationShared && !shareable {
		// Without Redis the members of a cluster coordinate over the
		// cluster itself (package cluster/signals).
		v.problem(key+".coordination", "shared coordination needs Redis or a cluster: set redis.url or redis.addrs, or a cluster: section")
	}
}

func (v *validator) readiness(key string, r Readiness, breakers map[string]Breaker) {
	seen := map[string]bool{}
	for i, name := range r.Breakers {
		k := fmt.Sprintf("%s.breakers[%d]", key, i)
		switch _, ok := breakers[name]; {
		case seen[name]:
			v.problem(k, "breaker %s is listed twice", quote(name))
		case !ok:
			v.problem(k, "no breaker %s in circuit_breakers (%s)%s", quote(name), knownBreakers(breakers), redisHint(name))
		}
		seen[name] = true
	}
}

// redisHint points at readiness.redis for the breaker the node makes itself.
func redisHint(name string) string {
	if name == "redis" {
		return "; for the Redis health breaker set admin.readiness.redis"
	}
	return ""
}

func knownBreakers(breakers map[string]Breaker) string {
	if len(breakers) == 0 {
		return "none is configured"
	}
	return "configured: " + strings.Join(sortedKeys(breakers), ", ")
}

func (v *validator) pool(key, name string, raw, p Pool, breakers map[string]Breaker) {
	v.name(key, name)
	if s, known := schemes[p.Protocol]; !known {
		v.problem(key+".protocol", "must be one of %s; got %s", strings.Join(protocols, ", "), quote(p.Protocol))
	} else {
		if !slices.Contains(poolAdapters, p.Protocol) {
			// Starting without the pool would leave its users calling a
			// name that does not exist, far from the cause.
			v.problem(key+".protocol", "protocol %s has no adapter yet; a pool can use %s", p.Protocol, strings.Join(poolAdapters, ", "))
		}
		if p.Scheme != s[0] && p.Scheme != s[1] {
			v.problem(key+".scheme", "must be %s or %s for protocol %s; got %s", s[0], s[1], p.Protocol, quote(p.Scheme))
		}
	}
	if p.Port < 0 || p.Port > 65535 || (p.Port == 0 && len(p.Endpoints) == 0) {
		v.problem(key+".port", "must be in 1..65535, got %d", p.Port)
	}
	if len(p.Endpoints) == 0 && p.Host == "" {
		v.problem(key+".host", "required when endpoints is empty")
	}
	for i, e := range p.Endpoints {
		if err := checkHostPort(e, false, 1); err != nil {
			v.problem(fmt.Sprintf("%s.endpoints[%d]", key, i), "%v", err)
		}
	}
	switch p.Protocol {
	case ProtocolGRPC:
		v.oneOfIn(key, "load_balancing", p.LoadBalancing, BalanceRoundRobin, BalanceLeastRequest, BalancePickFirst, BalanceP2C)
	case ProtocolWebSocket:
		v.oneOfIn(key, "load_balancing", p.LoadBalancing, BalanceRoundRobin)
	default:
		v.oneOfIn(key, "load_balancing", p.LoadBalancing, BalanceRoundRobin, BalanceP2C)
	}
	if p.Protocol != ProtocolGRPC {
		v.atLeast1In(key, "size", raw.Size)
	}
	// raw, not defaulted: response_header_timeout inherits timeout, and one
	// bad value should be reported once.
	v.nonNegativeIn(key, "timeout", raw.Timeout)
	v.nonNegativeIn(key, "dial_timeout", raw.DialTimeout)
	v.nonNegativeIn(key, "tls_handshake_timeout", raw.TLSHandshakeTimeout)
	v.nonNegativeIn(key, "response_header_timeout", raw.ResponseHeaderTimeout)
	v.nonNegativeIn(key, "idle_timeout", raw.IdleTimeout)
	if p.CircuitBreaker != "" {
		if _, ok := breakers[p.CircuitBreaker]; !ok {
			v.problem(key+".circuit_breaker", "no breaker %s in circuit_breakers (%s)", quote(p.CircuitBreaker), knownBreakers(breakers))
		}
	}
	v.tls(key+".tls", p.TLS)
	if raw.MaxResponseBody < 0 {
		v.problem(key+".max_response_body", "must not be negative, got %d", raw.MaxResponseBody)
	}
	if m := p.Outlier.MaxEjectionPercent; m < 0 || m > 100 {
		v.problem(key+".outlier.max_ejection_percent", "must be in 0..100, got %d", m)
	}
	v.nonNegative(key+".outlier.base_ejection_time", p.Outlier.BaseEjectionTime)
	if _, known := schemes[p.Protocol]; known {
		v.protocolKeys(key, raw, p)
	}
	if p.Protocol == ProtocolWebSocket {
		v.webSocket(key, raw, p)
	}
	if p.Protocol == ProtocolGRPC {
		v.grpc(key, raw, p)
	}
}

// protocolKeys refuses the keys written for a protocol other than the
// pool's: the adapter would ignore them, and an operator who wrote
// heartbeat_interval on an HTTP pool meant something by it.
func (v *validator) protocolKeys(key string, raw, p Pool) {
	o := raw.Outlier
	keys := []struct {
		name  string
		set   bool
		for_  []string
		usage string
	}{
		{"size", raw.Size != 0, []string{ProtocolHTTP, ProtocolWebSocket, ProtocolRedis}, "gRPC pools bound ClientConns with max_conns"},
		{"timeout", raw.Timeout != 0, []string{ProtocolHTTP, ProtocolGRPC, ProtocolRedis}, ""},
		{"idle_timeout", raw.IdleTimeout != 0, []string{ProtocolHTTP, ProtocolGRPC, ProtocolRedis}, ""},
		{"tls_handshake_timeout", raw.TLSHandshakeTimeout != 0, []string{ProtocolHTTP, ProtocolRedis}, ""},
		{"response_header_timeout", raw.ResponseHeaderTimeout != 0, []string{ProtocolHTTP, ProtocolRedis}, ""},
		{"max_response_body", raw.MaxResponseBody != 0, []string{ProtocolHTTP, ProtocolRedis}, ""},
		{"request_events", raw.RequestEvents, []string{ProtocolHTTP, ProtocolGRPC}, ""},
		{"outlier", o.ConsecutiveFailures != 0 || o.BaseEjectionTime != 0 || o.MaxEjectionPercent != 0, []string{ProtocolHTTP, ProtocolRedis}, ""},
		{"path", raw.Path != "", []string{ProtocolWebSocket}, ""},
		{"headers", len(raw.Headers) > 0, []string{ProtocolWebSocket}, ""},
		{"heartbeat_interval", raw.HeartbeatInterval != 0, []string{ProtocolWebSocket}, ""},
		{"heartbeat_grace", raw.HeartbeatGrace != 0, []string{ProtocolWebSocket}, ""},
		{"backoff_initial", raw.BackoffInitial != 0, []string{ProtocolWebSocket}, ""},
		{"backoff_max", raw.BackoffMax != 0, []string{ProtocolWebSocket}, ""},
		{"write_timeout", raw.WriteTimeout != 0, []string{ProtocolWebSocket}, ""},
		{"close_timeout", raw.CloseTimeout != 0, []string{ProtocolWebSocket}, ""},
		{"while_disconnected", raw.WhileDisconnected != "", []string{ProtocolWebSocket}, ""},
		{"queue_size", raw.QueueSize != 0, []string{ProtocolWebSocket}, ""},
		{"writer_only", raw.WriterOnly, []string{ProtocolWebSocket}, ""},
		{"queue_timeout", raw.QueueTimeout != 0, []string{ProtocolWebSocket}, ""},
		{"max_message_size", raw.MaxMessageSize != 0, []string{ProtocolWebSocket}, ""},
		{"max_conns", raw.MaxConns != 0, []string{ProtocolGRPC}, ""},
		{"max_concurrent_streams", raw.MaxConcurrentStreams != 0, []string{ProtocolGRPC}, ""},
		{"retry", !raw.Retry.zero(), []string{ProtocolGRPC}, "HTTP pools retry with fault_tolerance"},
		{"failure_codes", len(raw.FailureCodes) > 0, []string{ProtocolGRPC}, ""},
	}
	for _, k := range keys {
		if !k.set || slices.Contains(k.for_, p.Protocol) {
			continue
		}
		usage := ""
		if k.usage != "" {
			usage = "; " + k.usage
		}
		v.problem(key+"."+k.name, "only for %s pools, and this one is %s%s", orList(k.for_), p.Protocol, usage)
	}
}

// orList writes the protocols with an adapter among ps as "a or b".
func orList(ps []string) string {
	var out []string
	for _, p := range ps {
		if slices.Contains(poolAdapters, p) {
			out = append(out, p)
		}
	}
	if len(out) <= 1 {
		return strings.Join(out, "")
	}
	return strings.Join(out[:len(out)-1], ", ") + " or " + out[len(out)-1]
}

func (r GRPCRetry) zero() bool {
	return r.MaxAttempts == 0 && r.InitialBackoff == 0 && r.MaxBackoff == 0 && len(r.Codes) == 0
}

var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func (v *validator) webSocket(key string, raw, p Pool) {
	if !strings.HasPrefix(p.Path, "/") {
		v.problem(key+".path", "must start with \"/\", got %s", quote(p.Path))
	} else if _, err := url.ParseRequestURI(p.Path); err != nil {
		v.problem(key+".path", "invalid path %s", quote(p.Path))
	}
	for _, name := range sortedKeys(p.Headers) {
		if !headerNameRE.MatchString(name) {
			v.problem(key+".headers."+name, "%s is not a valid header name", quote(name))
		}
		if strings.ContainsAny(p.Headers[name], "\r\n\x00") {
			v.problem(key+".headers."+name, "a header value must not hold CR, LF or NUL")
		}
	}
	v.nonNegativeIn(key, "heartbeat_grace", raw.HeartbeatGrace)
	v.nonNegativeIn(key, "backoff_initial", raw.BackoffInitial)
	v.nonNegativeIn(key, "backoff_max", raw.BackoffMax)
	if p.BackoffInitial > p.BackoffMax && p.BackoffInitial >= 0 && p.BackoffMax >= 0 {
		v.problem(key+".backoff_initial", "%s exceeds backoff_max %s", p.BackoffInitial, p.BackoffMax)
	}
	v.nonNegativeIn(key, "write_timeout", raw.WriteTimeout)
	v.nonNegativeIn(key, "close_timeout", raw.CloseTimeout)
	v.oneOfIn(key, "while_disconnected", p.WhileDisconnected, WhileDisconnectedQueue, WhileDisconnectedFailFast)
	v.atLeast1In(key, "queue_size", raw.QueueSize)
	v.nonNegativeIn(key, "queue_timeout", raw.QueueTimeout)
	if raw.MaxMessageSize < 0 {
		v.problem(key+".max_message_size", "must not be negative, got %d", raw.MaxMessageSize)
	}
}

func (v *validator) grpc(key string, raw, p Pool) {
	v.atLeast1In(key, "max_conns", raw.MaxConns)
	if m := raw.MaxConcurrentStreams; m < 0 || m > math.MaxUint32 {
		v.problem(key+".max_concurrent_streams", "must be in 0..%d, got %d", uint32(math.MaxUint32), m)
	}
	r := p.Retry
	v.atLeast1(key+".retry.max_attempts", raw.Retry.MaxAttempts)
	v.nonNegative(key+".retry.initial_backoff", raw.Retry.InitialBackoff)
	v.nonNegative(key+".retry.max_backoff", raw.Retry.MaxBackoff)
	if r.InitialBackoff > r.MaxBackoff && r.InitialBackoff >= 0 && r.MaxBackoff >= 0 {
		v.problem(key+".retry.initial_backoff", "%s exceeds max_backoff %s", r.InitialBackoff, r.MaxBackoff)
	}
	v.codes(key+".retry.codes", raw.Retry.Codes)
	v.codes(key+".failure_codes", raw.FailureCodes)
}

func (v *validator) codes(key string, names []string) {
	seen := map[uint32]bool{}
	for i, name := range names {
		k := fmt.Sprintf("%s[%d]", key, i)
		c, ok := GRPCCode(name)
		switch {
		case !ok:
			v.problem(k, "unknown gRPC status code %s; want one of %s", quote(name), strings.Join(grpcCodes, ", "))
		case seen[c]:
			v.problem(k, "%s is listed twice", quote(name))
		}
		seen[c] = true
	}
}

func (v *validator) healthCheck(key, name string, raw, h HealthCheck) {
	v.name(key, name)
	v.nonNegativeIn(key, "interval", h.Interval)
	v.nonNegativeIn(key, "unhealthy_interval", raw.UnhealthyInterval)
	v.nonNegativeIn(key, "timeout", h.Timeout)
	v.nonNegativeIn(key, "initial_jitter", raw.InitialJitter)
	if h.JitterPercent > 100 {
		v.problem(key+".jitter_percent", "must be at most 100, got %g", h.JitterPercent)
	}
	v.atLeast1In(key, "healthy_threshold", raw.HealthyThreshold)
	v.atLeast1In(key, "unhealthy_threshold", raw.UnhealthyThreshold)
	if !v.oneOfIn(key, "type", h.Type, CheckHTTP, CheckTCP, CheckGRPC, CheckRedis, CheckWebSocket) {
		return
	}
	if h.Type != CheckHTTP {
		if len(h.ExpectedStatus) > 0 {
			v.problem(key+".expected_status", "only for http checks")
		}
		if h.BodyContains != "" || h.BodyRegexp != "" {
			v.problem(key+".body_contains", "body_contains and body_regexp are only for http checks")
		}
	}
	if h.Service != "" && h.Type != CheckGRPC {
		v.problem(key+".service", "only for grpc checks")
	}
	for i, code := range h.ExpectedStatus {
		if code < 100 || code > 599 {
			v.problem(fmt.Sprintf("%s.expected_status[%d]", key, i), "want an HTTP status in 100..599, got %d", code)
		}
	}
	if h.BodyRegexp != "" {
		if _, err := regexp.Compile(h.BodyRegexp); err != nil {
			v.problem(key+".body_regexp", "%v", err)
		}
	}

	// The target: url (http, websocket) or address (tcp, grpc), or target
	// for either; none for redis.
	own, other := "url", "address"
	if h.Type == CheckTCP || h.Type == CheckGRPC {
		own, other = "address", "url"
	}
	set := map[string]string{"url": h.URL, "address": h.Address, "target": h.Target}
	if h.Type == CheckRedis {
		for _, k := range []string{"url", "address", "target"} {
			if set[k] != "" {
				v.problem(key+"."+k, "a redis check pings the node's own Redis (redis:); it takes no %s", k)
			}
		}
		return
	}
	if set[other] != "" {
		v.problem(key+"."+other, "not used by %s checks; use %s", h.Type, own)
		return
	}
	tkey, target := key+"."+own, set[own]
	switch {
	case target != "" && h.Target != "":
		v.problem(key+".target", "target is an alias of %s: set one of them, not both", own)
		return
	case target == "" && h.Target == "":
		v.problem(key+".target", "required (or %s)", own)
		return
	case target == "":
		tkey, target = key+".target", h.Target
	}
	if own == "address" {
		if err := checkHostPort(target, false, 1); err != nil {
			v.problem(tkey, "%v", err)
		}
		return
	}
	allowed, schemes := []string{"http", "https"}, "an http:// or https://"
	if h.Type == CheckWebSocket {
		allowed, schemes = []string{"ws", "wss"}, "a ws:// or wss://"
	}
	u, err := url.Parse(target)
	switch {
	case err != nil:
		v.problem(tkey, "invalid URL %s: %v", quote(redactURL(target)), urlErr(target, err))
	case !slices.Contains(allowed, u.Scheme):
		v.problem(tkey, "want %s URL, got %s", schemes, quote(redactURL(target)))
	case u.Host == "":
		v.problem(tkey, "URL %s has no host", quote(redactURL(target)))
	}
}

func (v *validator) redis(key string, raw, r Redis) {
	if raw.URL != "" && len(raw.Addrs) > 0 {
		v.problem(key+".addrs", "set either url or addrs, not both")
	}
	if raw.URL != "" {
		u, err := url.Parse(raw.URL)
		switch {
		case err != nil:
			v.problem(key+".url", "invalid URL %s: %v", quote(redactURL(raw.URL)), urlErr(raw.URL, err))
		case u.Scheme != "redis" && u.Scheme != "rediss":
			v.problem(key+".url", "want a redis:// or rediss:// URL, got %s", quote(redactURL(raw.URL)))
		case u.Hostname() == "":
			v.problem(key+".url", "URL %s has no host", quote(redactURL(raw.URL)))
		default:
			if db := strings.TrimPrefix(u.Path, "/"); db != "" {
				if n, err := strconv.Atoi(db); err != nil || n < 0 {
					v.problem(key+".url", "URL %s: the path must be a database number", quote(redactURL(raw.URL)))
				}
			}
		}
	}
	for i, a := range raw.Addrs {
		if err := checkHostPort(a, false, 1); err != nil {
			v.problem(fmt.Sprintf("%s.addrs[%d]", key, i), "%v", err)
		}
	}
	if raw.MasterName != "" && len(raw.Addrs) == 0 {
		v.problem(key+".master_name", "needs addrs (the Sentinel addresses)")
	}
	if raw.Password != "" && raw.PasswordFile != "" {
		v.problem(key+".password_file", "set either password or password_file, not both")
	}
	if raw.PoolSize < 0 {
		v.problem(key+".pool_size", "must not be negative, got %d", raw.PoolSize)
	}
	if raw.ReplicaAcks < 0 {
		v.problem(key+".replica_acks", "must not be negative, got %d", raw.ReplicaAcks)
	}
	v.nonNegativeIn(key, "timeout", r.Timeout)
	v.tls(key+".tls", r.TLS)
}

// urlErr is the cause of a url.Parse error of raw without the URL, which
// url.Error repeats whole, password included. A cause quoting part of the
// password (a bad escape in it) is replaced too.
func urlErr(raw string, err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if pw := urlPassword(raw); pw != "" {
		for _, m := range quotedRE.FindAllStringSubmatch(msg, -1) {
			if m[1] != "" && strings.Contains(pw, m[1]) {
				return "malformed password"
			}
		}
	}
	return msg
}

var quotedRE = regexp.MustCompile(`"([^"]*)"`)

// urlPassword finds the password in a URL that may not parse, the same way
// redactURL does.
func urlPassword(s string) string {
	if _, rest, ok := strings.Cut(s, "://"); ok {
		s = rest
	}
	if end := strings.IndexAny(s, "/?#"); end >= 0 {
		s = s[:end]
	}
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return ""
	}
	_, pw, _ := strings.Cut(s[:at], ":")
	return pw
}

// checkHostPort accepts host:port with a numeric port of at least minPort;
// an empty host only when emptyHost (a listen address on every interface).
func checkHostPort(s string, emptyHost bool, minPort int) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want host:port, got %s", quote(s))
	}
	if host == "" && !emptyHost {
		return fmt.Errorf("want host:port, got %s: the host is empty", quote(s))
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < minPort || n > 65535 {
		return fmt.Errorf("want host:port, got %s: the port must be a number in %d..65535", quote(s), minPort)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
