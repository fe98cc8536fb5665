package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest configuration Parse and Load accept, in bytes. It
// bounds the work a hostile file can cause together with the alias budget.
const MaxSize = 1 << 20

// maxProblems stops a garbage file from producing megabytes of errors.
const maxProblems = 100

// aliasBudget bounds the nodes visited while decoding with aliases and merge
// keys expanded: twice the nodes written, plus some slack. The schema is a
// few levels deep, so only aliases can multiply the work (a "billion
// laughs"), and real configs that share settings through aliases expand
// far less than that.
func aliasBudget(root *yaml.Node) int {
	n := 0
	var count func(*yaml.Node)
	count = func(x *yaml.Node) {
		n++
		for _, c := range x.Content {
			count(c)
		}
	}
	count(root)
	return 2*n + 10000
}

// source remembers where each key of a parsed Config was written, so that
// Validate can name the line of a bad value and tell an explicit 0 from an
// unset key.
type source struct {
	file  string
	lines map[string]int  // key path -> line of the key (or list element)
	set   map[string]bool // key path -> written with a non-null value
	// env maps a key path to the environment variable that set it
	// (WithEnv); such a key's problems name the variable, not a line.
	env map[string]string
}

// WithoutSource returns c without the record of where each key came from
// (the file's lines, the environment variables), sharing c's maps and
// lists. Problems found in it name keys without a position. The record
// holds a string and two map entries per key, some 400 B per configured
// breaker or pool: a node keeps this form of its config once validated.
func (c *Config) WithoutSource() *Config {
	out := *c
	out.src = nil
	return &out
}

// Load reads and parses the file at path; see Parse. Problems name the file
// by path as given. An error reading the file is returned as is (wrapped),
// so errors.Is(err, fs.ErrNotExist) works.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes one YAML document strictly and validates it. name is used in
// error messages only. Empty input (or only comments, or null) is the zero
// Config, which means every default.
//
// Every problem found is returned in one *Error (errors.Is(err,
// ErrInvalid)), each naming the file, line and key path. The returned
// Config is not defaulted, so callers can tell an unset key from one set to
// its default value; call WithDefaults to fill it in.
func Parse(name string, data []byte) (cfg *Config, err error) {
	if len(data) > MaxSize {
		return nil, &Error{Problems: []Problem{{File: name,
			Msg: fmt.Sprintf("input is larger than the limit of %d bytes", MaxSize)}}}
	}
	defer func() {
		// The YAML parser is third-party code fed untrusted bytes; a panic
		// in it must not take the node down with it.
		if r := recover(); r != nil {
			cfg, err = nil, &Error{Problems: []Problem{{File: name, Msg: fmt.Sprintf("invalid YAML: %v", r)}}}
		}
	}()
	src := &source{file: name, lines: map[string]int{}, set: map[string]bool{}}
	cfg = &Config{src: src}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, nil
		}
		return nil, &Error{Problems: []Problem{syntaxProblem(name, err)}}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &Error{Problems: []Problem{{File: name, Line: extra.Line,
			Msg: "more than one YAML document; a config file holds one"}}}
	case !errors.Is(err, io.EOF):
		return nil, &Error{Problems: []Problem{syntaxProblem(name, err)}}
	}

	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return cfg, nil
		}
		root = root.Content[0]
	}
	d := &decoder{src: src, budget: aliasBudget(root), active: map[*yaml.Node]bool{}, pairCache: map[*yaml.Node][]pair{}}
	d.value(root, reflect.ValueOf(cfg).Elem(), "")
	if d.stopped {
		return nil, &Error{Problems: sortProblems(d.problems)}
	}
	// Validate even after decoding problems, so one run reports them all,
	// but drop what a value that failed to decode would cause: it is still
	// zero, and "must be in 1..65535, got 0" next to "want an integer"
	// would be noise.
	problems := d.problems
	var e *Error
	if err := cfg.Validate(); errors.As(err, &e) {
		for _, p := range e.Problems {
			if !d.covers(p.Key) {
				problems = append(problems, p)
			}
		}
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: capProblems(sortProblems(problems))}
	}
	return cfg, nil
}

// covers reports whether key is, or is under, a key that failed to decode.
func (d *decoder) covers(key string) bool { return covered(d.problems, key) }

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxProblem(file string, err error) Problem {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{File: file, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return Problem{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

func capProblems(ps []Problem) []Problem {
	if len(ps) <= maxProblems {
		return ps
	}
	last := ps[maxProblems-1]
	return append(ps[:maxProblems:maxProblems], Problem{File: last.File, Line: last.Line,
		Msg: fmt.Sprintf("too many problems; stopped after %d", maxProblems)})
}

func sortProblems(ps []Problem) []Problem {
	sort.SliceStable(ps, func(i, j int) bool {
		li, lj := ps[i].Line, ps[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
	return ps
}

// decoder walks the node tree itself rather than using yaml's reflection:
// yaml.Node.Decode has no KnownFields, and yaml's TypeError strings carry a
// line but no key path and stop at the first error of a custom unmarshaler.
type decoder struct {
	src      *source
	problems []Problem
	budget   int
	stopped  bool
	active   map[*yaml.Node]bool // anchored nodes being expanded, to stop cycles
	// pairCache holds each mapping's entries with merges expanded, so a
	// mapping merged many times is expanded once.
	pairCache map[*yaml.Node][]pair
	// fieldCache is yamlFields by type: 10,000 breakers are one type.
	fieldCache map[reflect.Type]map[string]int
}

// fields is yamlFields(t), computed once per type; callers must not
// modify it.
func (d *decoder) fields(t reflect.Type) map[string]int {
	if f, ok := d.fieldCache[t]; ok {
		return f
	}
	if d.fieldCache == nil {
		d.fieldCache = make(map[reflect.Type]map[string]int)
	}
	f := yamlFields(t)
	d.fieldCache[t] = f
	return f
}

func (d *decoder) problem(line int, key, format string, args ...any) {
	if d.stopped {
		return
	}
	if len(d.problems) >= maxProblems {
		d.problems = append(d.problems, Problem{File: d.src.file, Line: line,
			Msg: fmt.Sprintf("too many problems; stopped after %d", maxProblems)})
		d.stopped = true
		return
	}
	d.problems = append(d.problems, Problem{File: d.src.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// spend charges one node to the budget and reports whether decoding may go on.
func (d *decoder) spend(line int) bool {
	if d.stopped {
		return false
	}
	d.budget--
	if d.budget < 0 {
		d.problems = append(d.problems, Problem{File: d.src.file, Line: line,
			Msg: "document too complex: excessive aliasing or merging"})
		d.stopped = true
		return false
	}
	return true
}

// deref follows an alias. The returned func must be called when done with
// the node; ok is false for an alias to a node being expanded (a cycle).
func (d *decoder) deref(n *yaml.Node, key string) (_ *yaml.Node, done func(), ok bool) {
	if n.Kind != yaml.AliasNode || n.Alias == nil {
		return n, func() {}, true
	}
	t := n.Alias
	if d.active[t] {
		d.problem(n.Line, key, "alias *%s refers to a node that contains it", n.Value)
		return nil, nil, false
	}
	d.active[t] = true
	return t, func() { delete(d.active, t) }, true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return quote(n.Value)
	}
	return "nothing"
}

// quote quotes a value for a message, shortened: it may be a megabyte.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

var (
	unmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// value decodes n into v; path is v's key path.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if !d.spend(n.Line) {
		return
	}
	n, done, ok := d.deref(n, path)
	if !ok {
		return
	}
	defer done()
	if isNull(n) {
		return // unset: keep the zero value, which means the default
	}
	pt := v.Addr().Type()
	switch {
	case pt.Implements(unmarshalerType):
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.problem(n.Line, path, "%s", typeErrorText(err))
		}
		return
	case pt.Implements(textUnmarshalerType):
		if n.Kind != yaml.ScalarNode {
			d.problem(n.Line, path, "want a name, got %s", describe(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.problem(n.Line, path, "%s", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.problem(n.Line, path, "want a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			d.problem(n.Line, path, "want an integer, got %s", describe(n))
			return
		}
		if v.OverflowInt(i) {
			d.problem(n.Line, path, "integer %s is out of range", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.problem(n.Line, path, "want true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Float32, reflect.Float64:
		var f float64
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil {
			d.problem(n.Line, path, "want a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		// Only reachable if a field of an unsupported type is added to the
		// structs without teaching the decoder about it.
		d.problem(n.Line, path, "cannot decode into %s", v.Type())
	}
}

// typeErrorText removes the "line N:" prefixes yaml adds, since the
// problem carries the line itself.
func typeErrorText(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			if _, rest, ok := strings.Cut(m, ": "); ok && strings.HasPrefix(m, "line ") {
				m = rest
			}
			msgs[i] = m
		}
		return strings.Join(msgs, "; ")
	}
	return err.Error()
}

type pair struct{ k, v *yaml.Node }

// pairs lists a mapping's entries with merge keys (<<) expanded: explicit
// keys override merged ones and, among merged mappings, the first wins, as
// in YAML 1.1 and yaml.v3. Duplicate explicit keys are problems.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	if ps, ok := d.pairCache[n]; ok {
		if d.budget -= len(ps); d.budget < 0 {
			d.spend(n.Line)
			return nil
		}
		return ps
	}
	ps := d.expand(n, path)
	if !d.stopped {
		d.pairCache[n] = ps
	}
	return ps
}

func (d *decoder) expand(n *yaml.Node, path string) []pair {
	var merged, explicit []pair
	// seen is made only for a large mapping: most (a breaker's, a
	// pool's) have a handful of keys, which a scan of explicit checks
	// faster than a map made for each of 10,000 of them.
	var seen map[string]int
	firstLine := func(key string) (int, bool) {
		if seen != nil {
			l, ok := seen[key]
			return l, ok
		}
		for _, p := range explicit {
			if p.k.Value == key {
				return p.k.Line, true
			}
		}
		return 0, false
	}
	const scanUpTo = 8
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !d.spend(k.Line) {
			return nil
		}
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(v, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.problem(k.Line, path, "want a string key, got %s", describe(k))
			continue
		}
		if first, dup := firstLine(k.Value); dup {
			d.problem(k.Line, join(path, k.Value), "duplicate key (first at line %d)", first)
			continue
		}
		explicit = append(explicit, pair{k, v})
		if seen != nil {
			seen[k.Value] = k.Line
		} else if len(explicit) > scanUpTo {
			seen = make(map[string]int, 2*len(explicit))
			for _, p := range explicit {
				seen[p.k.Value] = p.k.Line
			}
		}
	}
	if len(merged) == 0 {
		return explicit
	}
	if seen == nil {
		seen = make(map[string]int, len(explicit)+len(merged))
		for _, p := range explicit {
			seen[p.k.Value] = p.k.Line
		}
	}
	out := make([]pair, 0, len(merged)+len(explicit))
	for _, p := range merged {
		if _, dup := seen[p.k.Value]; dup {
			continue
		}
		seen[p.k.Value] = p.k.Line
		out = append(out, p)
	}
	return append(out, explicit...)
}

func (d *decoder) merge(v *yaml.Node, path string) []pair {
	v, done, ok := d.deref(v, path)
	if !ok {
		return nil
	}
	defer done()
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(v, path)
	case yaml.SequenceNode:
		var out []pair
		for _, e := range v.Content {
			e, done, ok := d.deref(e, path)
			if !ok {
				continue
			}
			if e.Kind == yaml.MappingNode {
				out = append(out, d.pairs(e, path)...)
			} else {
				d.problem(e.Line, path, "merge (<<) wants a mapping or a list of mappings, got %s", describe(e))
			}
			done()
		}
		return out
	}
	d.problem(v.Line, path, "merge (<<) wants a mapping or a list of mappings, got %s", describe(v))
	return nil
}

func (d *decoder) record(path string, k, v *yaml.Node) {
	d.src.lines[path] = k.Line
	if !isNull(v) && !(v.Kind == yaml.AliasNode && v.Alias != nil && isNull(v.Alias)) {
		d.src.set[path] = true
	}
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.problem(n.Line, path, "want a mapping, got %s", describe(n))
		return
	}
	fields := d.fields(v.Type())
	for _, p := range d.pairs(n, path) {
		key := join(path, p.k.Value)
		i, ok := fields[p.k.Value]
		if !ok {
			d.problem(p.k.Line, key, "unknown key%s", suggest(p.k.Value, fields))
			continue
		}
		d.record(key, p.k, p.v)
		d.value(p.v, v.Field(i), key)
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.problem(n.Line, path, "want a mapping of names, got %s", describe(n))
		return
	}
	for _, p := range d.pairs(n, path) {
		key := join(path, p.k.Value)
		d.record(key, p.k, p.v)
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(p.v, elem, key)
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		v.SetMapIndex(reflect.ValueOf(p.k.Value), elem)
	}
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.problem(n.Line, path, "want a list, got %s", describe(n))
		return
	}
	for i, e := range n.Content {
		key := fmt.Sprintf("%s[%d]", path, i)
		d.record(key, e, e)
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(e, elem, key)
		v.Set(reflect.Append(v, elem))
	}
}

// yamlFields maps a struct's yaml keys to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = i
	}
	return m
}

// suggest names the known key closest to an unknown one, for typos.
func suggest(key string, fields map[string]int) string {
	if len(key) > 64 {
		return ""
	}
	best, bestD := "", 3
	for name := range fields {
		dist := editDistance(strings.ToLower(key), name)
		if dist < bestD || (dist == bestD && name < best) {
			best, bestD = name, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
