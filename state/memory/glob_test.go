package memory

import (
	"path"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"news.*", "news.a", true},
		{"news.*", "news.", true},
		{"news.*", "newsXa", false},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[b-a]llo", "hbllo", true}, // Redis accepts reversed ranges
		{`h\*llo`, "h*llo", true},
		{`h\*llo`, "hallo", false},
		{`a\`, `a\`, true},
		{"a[", "a", false},
		{"a[b", "ab", true}, // unclosed class, as Redis reads it
		{"*a*b*c", "xxaxxbxxc", true},
		{"*a*b*c", "xxaxxbxx", false},
		{"a**b", "ab", true},
		{"[]]", "]", false},
	}
	for _, c := range cases {
		if got := match(c.pattern, c.s); got != c.want {
			t.Errorf("match(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestMatchLinear(t *testing.T) {
	p := strings.Repeat("*a", 50) + "b"
	s := strings.Repeat("a", 10000)
	if match(p, s) {
		t.Fatal("matched")
	}
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FuzzMatch checks match against path.Match where their dialects agree: ASCII, no
// '/', no '\', no '-' or '^' (path.Match rejects reversed ranges; Redis
// swaps them) and a pattern path.Match accepts.
func FuzzMatch(f *testing.F) {
	for _, seed := range [][2]string{{"news.*", "news.a"}, {"h[ae]?lo", "hallo"}, {"*a*", "bab"}, {"[abc]*", "c"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		got := match(pattern, s) // must never panic
		if strings.ContainsAny(pattern+s, `/\-^`) || !ascii(pattern+s) {
			return // Redis matches bytes, path.Match runes
		}
		want, err := path.Match(pattern, s)
		if err != nil {
			return
		}
		if got != want {
			t.Fatalf("match(%q, %q) = %v, path.Match says %v", pattern, s, got, want)
		}
	})
}
