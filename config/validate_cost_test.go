package config

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// validName is the regexp it replaced.
func TestValidNameMatchesTheRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	cases := []string{"", "api", "API_v2.eu-west-1", "a b", "a/b", "é", "a\x00", "-", ".", "_", "a\n", "\nb", "ünïcode"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(6))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		if got, want := validName(c), re.MatchString(c); got != want {
			t.Errorf("validName(%q) = %v, the regexp says %v", c, got, want)
		}
	}
}

// Validating a breaker costs a few allocations, whatever its number of
// checks: the keys of the checks are built only for a problem.
func TestValidateBreakerAllocations(t *testing.T) {
	const n = 200
	var b strings.Builder
	b.WriteString("circuit_breakers:\n")
	for i := range n {
		fmt.Fprintf(&b, "  b%03d: {failure_threshold: 5, recovery_timeout: 30s}\n", i)
	}
	c, err := Parse("many.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	empty, err := Parse("empty.yaml", []byte("circuit_breakers: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	base := testing.AllocsPerRun(5, func() { _ = empty.Validate() })
	all := testing.AllocsPerRun(5, func() { _ = c.Validate() })
	// WithDefaults copies each breaker into a map; the key
	// "circuit_breakers.<name>" is built once. 14 checks used to build 14
	// more keys.
	if per := (all - base) / n; per > 6 {
		t.Errorf("Validate makes %.1f allocations per breaker, want at most 6", per)
	}
}

// Duplicate keys are found, with the first one's line, in small mappings
// (scanned) and in large ones (a map), and explicit keys still override
// merged ones.
func TestDuplicateKeysSmallAndLargeMappings(t *testing.T) {
	var large strings.Builder
	large.WriteString("circuit_breakers:\n")
	for i := range 12 {
		fmt.Fprintf(&large, "  b%02d: {}\n", i)
	}
	large.WriteString("  b03: {}\n") // line 14; b03 is on line 5
	for _, c := range []struct{ name, yaml, want string }{
		{"small", "node:\n  name: a\n  cluster: c\n  name: b\n", "vsm.yaml:4: node.name: duplicate key (first at line 2)"},
		{"large", large.String(), "vsm.yaml:14: circuit_breakers.b03: duplicate key (first at line 5)"},
	} {
		_, err := Parse("vsm.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	cfg, err := Parse("vsm.yaml", []byte("circuit_breakers:\n  one: &b {failure_threshold: 3, recovery_timeout: 1s}\n  api: {<<: *b, failure_threshold: 7}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b := cfg.CircuitBreakers["api"]; b.FailureThreshold != 7 || b.RecoveryTimeout.D().String() != "1s" {
		t.Fatalf("merged breaker = %+v, want failure_threshold 7 (explicit), recovery_timeout 1s (merged)", b)
	}
}
