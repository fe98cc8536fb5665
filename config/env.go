package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts the name of every environment variable that sets a key.
const EnvPrefix = "VSM_"

// WithEnv returns a copy of c with the keys that env sets, env being a list
// of "NAME=value" as os.Environ returns it. c is not modified, and nothing
// is read from the process: the caller passes the environment in, so the
// library has no hidden inputs (vsmnode passes os.Environ()).
//
// # Naming
//
// A key's variable is EnvPrefix and its key path in upper case, with every
// '.' between keys written '_':
//
//	node.name                              VSM_NODE_NAME
//	redis.password_file                    VSM_REDIS_PASSWORD_FILE
//	circuit_breakers.api.failure_threshold VSM_CIRCUIT_BREAKERS_API_FAILURE_THRESHOLD
//	pools.api.tls.ca_file                  VSM_POOLS_API_TLS_CA_FILE
//
// The name of a pool, breaker or health check is written in upper case with
// '-' and '.' as '_' (pool "billing-v2" is BILLING_V2), and only the
// entries c already has can be set: an entry is created in the file (even
// as "billing-v2: {}"), so that a variable cannot add a pool by a typo.
// Matching is against the keys the config can hold, so a name with
// underscores is not ambiguous as long as one reading exists; when a
// variable can be read two ways (pools "api" and "api_idle", and
// VSM_POOLS_API_IDLE_TIMEOUT), it is an error naming both readings, never
// a guess. Only leaf keys have a variable: a whole section cannot be set.
//
// # Values
//
// A value is read as the same key written in YAML would be, with the same
// rules and messages: "5s" or 250 (milliseconds) for a duration, true or
// false, a number. A list is comma-separated (VSM_REDIS_ADDRS=h1:26379,h2:26379;
// spaces around items are dropped). An empty value (or null) unsets the
// key, which then takes its default, as a key written with no value does.
// When env holds a name twice the last one wins, as with exec.Cmd.Env.
//
// # Errors
//
// Every bad value, and every variable that reads two ways, is a Problem of
// the returned *Error (errors.Is(err, ErrInvalid)) naming the variable; the
// problems of the resulting config (Validate) name the variable for the keys
// it set and the file and line for the others. Variables with the prefix
// that name no key are returned as ignored, each with a suggestion: they
// are not errors, because the prefix is shared with other tools (the test
// tooling's VSM_REDIS_ADDR), but a caller should show them, since a typo
// would otherwise leave the key at its value silently.
func (c *Config) WithEnv(env []string) (_ *Config, ignored []Problem, err error) {
	if c == nil {
		c = &Config{}
	}
	vars := map[string]string{}
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, EnvPrefix) {
			vars[name] = value
		}
	}
	out := c.clone()
	if len(vars) == 0 {
		return out, nil, nil
	}
	// decoding holds the values that did not decode, whose keys Validate
	// would report again; problems holds every problem.
	var problems, decoding []Problem
	root := reflect.ValueOf(out).Elem()
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		var found [][]string
		resolveEnv(root, strings.TrimPrefix(name, EnvPrefix), nil, &found)
		switch len(found) {
		case 0:
			ignored = append(ignored, Problem{Env: name, Msg: "names no key; ignored" + envHint(root, name)})
			continue
		case 1:
		default:
			paths := make([]string, len(found))
			for i, segs := range found {
				paths[i] = keyPath(segs)
			}
			slices.Sort(paths)
			problems = append(problems, Problem{Env: name,
				Msg: "ambiguous: it names " + strings.Join(paths, " and ") + "; rename one of the entries"})
			continue
		}
		ps := out.setEnv(root, name, vars[name], found[0])
		decoding = append(decoding, ps...)
		problems = append(problems, ps...)
	}
	// The values that decoded may still break a rule, or a rule that joins
	// keys (a pool's breaker exists...): validate the result as Parse does,
	// leaving out what a value that failed to decode would cause.
	if e := asError(out.Validate()); e != nil {
		for _, p := range e.Problems {
			if !covered(decoding, p.Key) {
				problems = append(problems, p)
			}
		}
	}
	if len(problems) > 0 {
		return nil, ignored, &Error{Problems: capProblems(sortProblems(problems))}
	}
	return out, ignored, nil
}

// envName is how a key, or the name of a map entry, is written in a
// variable's name.
func envName(key string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(key))
}

func keyPath(segs []string) string {
	path := ""
	for _, s := range segs {
		path = join(path, s)
	}
	return path
}

// isLeaf reports whether a value of type t is set whole by one variable:
// scalars, lists, and the types that decode themselves (durations,
// severities, jitter).
func isLeaf(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	if pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return false
	}
	return true
}

// resolveEnv appends to found the key path of every leaf under v whose
// variable name (after the prefix) is rest: struct fields from the schema,
// map entries from the names v holds.
func resolveEnv(v reflect.Value, rest string, segs []string, found *[][]string) {
	if isLeaf(v.Type()) {
		if rest == "" {
			*found = append(*found, slices.Clone(segs))
		}
		return
	}
	if rest == "" {
		return
	}
	try := func(key string, child reflect.Value) {
		e := envName(key)
		switch {
		case rest == e:
			resolveEnv(child, "", append(segs, key), found)
		case strings.HasPrefix(rest, e+"_"):
			resolveEnv(child, rest[len(e)+1:], append(segs, key), found)
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		for key, i := range yamlFields(v.Type()) {
			try(key, v.Field(i))
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			try(iter.Key().String(), iter.Value())
		}
	}
}

// envNames lists the variable of every leaf c can set, for suggestions.
func envNames(v reflect.Value, prefix string, out *[]string) {
	if isLeaf(v.Type()) {
		*out = append(*out, prefix)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for key, i := range yamlFields(v.Type()) {
			envNames(v.Field(i), prefix+"_"+envName(key), out)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			envNames(iter.Value(), prefix+"_"+envName(iter.Key().String()), out)
		}
	}
}

// envHint suggests the variable closest to an unknown one, or explains
// that map entries come from the file.
func envHint(root reflect.Value, name string) string {
	var names []string
	envNames(root, strings.TrimSuffix(EnvPrefix, "_"), &names)
	best, bestD := "", 4
	if len(name) <= 128 {
		for _, n := range names {
			if d := editDistance(name, n); d < bestD || (d == bestD && n < best) {
				best, bestD = n, d
			}
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean %s?", best)
	}
	rest := strings.TrimPrefix(name, EnvPrefix)
	for key, i := range yamlFields(root.Type()) {
		if root.Field(i).Kind() == reflect.Map && strings.HasPrefix(rest, envName(key)+"_") {
			have := "it has none"
			if keys := root.Field(i).MapKeys(); len(keys) > 0 {
				ks := make([]string, len(keys))
				for j, k := range keys {
					ks[j] = k.String()
				}
				slices.Sort(ks)
				have = "it has " + strings.Join(ks, ", ")
			}
			return fmt.Sprintf("; the environment sets keys of the %s entries the config defines (%s)", key, have)
		}
	}
	return ""
}

// setEnv decodes value into the leaf at segs as the YAML decoder would,
// and records that the key now comes from the variable.
func (c *Config) setEnv(root reflect.Value, name, value string, segs []string) []Problem {
	path := keyPath(segs)
	var n *yaml.Node
	leaf := leafType(root.Type(), segs)
	switch {
	case strings.TrimSpace(value) == "":
		n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""}
	case leaf.Kind() == reflect.Slice && !isDecoder(leaf):
		n = &yaml.Node{Kind: yaml.SequenceNode}
		for item := range strings.SplitSeq(value, ",") {
			if item = strings.TrimSpace(item); item != "" {
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: item})
			}
		}
	default:
		n = &yaml.Node{Kind: yaml.ScalarNode, Value: value}
	}
	// A scratch source: the lines of what the variable holds mean nothing.
	scratch := &source{file: "", lines: map[string]int{}, set: map[string]bool{}}
	d := &decoder{src: scratch, budget: 1 << 16, active: map[*yaml.Node]bool{}, pairCache: map[*yaml.Node][]pair{}}
	setPath(root, segs, func(v reflect.Value) {
		v.SetZero() // a list is replaced, not appended to
		d.value(n, v, path)
	})
	src := c.src
	for k := range src.lines {
		if under(k, path) {
			delete(src.lines, k)
		}
	}
	for k := range src.set {
		if under(k, path) {
			delete(src.set, k)
		}
	}
	maps.Copy(src.set, scratch.set)
	src.set[path] = !isNull(n)
	src.env[path] = name
	for i := range d.problems {
		d.problems[i].File, d.problems[i].Line, d.problems[i].Env = "", 0, name
	}
	return d.problems
}

func isDecoder(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType)
}

// under reports whether key is path or below it.
func under(key, path string) bool {
	return key == path || strings.HasPrefix(key, path+".") || strings.HasPrefix(key, path+"[")
}

func leafType(t reflect.Type, segs []string) reflect.Type {
	for _, s := range segs {
		switch t.Kind() {
		case reflect.Struct:
			t = t.Field(yamlFields(t)[s]).Type
		case reflect.Map:
			t = t.Elem()
		}
	}
	return t
}

// setPath calls set on the value at segs, copying map entries out and back
// in, since a map's values cannot be set in place.
func setPath(v reflect.Value, segs []string, set func(reflect.Value)) {
	if len(segs) == 0 {
		set(v)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		setPath(v.Field(yamlFields(v.Type())[segs[0]]), segs[1:], set)
	case reflect.Map:
		key := reflect.ValueOf(segs[0])
		elem := reflect.New(v.Type().Elem()).Elem()
		elem.Set(v.MapIndex(key))
		setPath(elem, segs[1:], set)
		v.SetMapIndex(key, elem)
	}
}

// clone deep-copies c, source included, so that WithEnv can change both.
func (c *Config) clone() *Config {
	out := *c
	out.Pools = cloneMap(c.Pools, func(p Pool) Pool {
		p.Endpoints = slices.Clone(p.Endpoints)
		p.Headers = maps.Clone(p.Headers)
		p.FailureCodes = slices.Clone(p.FailureCodes)
		p.Retry.Codes = slices.Clone(p.Retry.Codes)
		return p
	})
	out.CircuitBreakers = cloneMap(c.CircuitBreakers, func(b Breaker) Breaker { return b })
	out.HealthChecks = cloneMap(c.HealthChecks, func(h HealthCheck) HealthCheck { return h })
	out.Redis.Addrs = slices.Clone(c.Redis.Addrs)
	out.Admin.Readiness.Breakers = slices.Clone(c.Admin.Readiness.Breakers)
	src := &source{lines: map[string]int{}, set: map[string]bool{}, env: map[string]string{}}
	if c.src != nil {
		src.file = c.src.file
		maps.Copy(src.lines, c.src.lines)
		maps.Copy(src.set, c.src.set)
		maps.Copy(src.env, c.src.env)
	}
	out.src = src
	return &out
}

func cloneMap[V any](m map[string]V, f func(V) V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = f(v)
	}
	return out
}

// covered reports whether key is, or is under, the key of a problem.
func covered(problems []Problem, key string) bool {
	return slices.ContainsFunc(problems, func(p Problem) bool { return p.Key == "" || under(key, p.Key) })
}

func asError(err error) *Error {
	e, _ := err.(*Error)
	return e
}
