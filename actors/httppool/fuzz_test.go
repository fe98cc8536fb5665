package httppool

import (
	"strings"
	"testing"
	"time"
)

// Retry-After comes from the server: whatever it says, the hint is never
// negative and a number of seconds means exactly that.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "7", "-1", "120", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", " 5"} {
		f.Add(s)
	}
	now := time.Date(2015, 10, 21, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d := retryAfter(v, now)
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("%q: delay %v out of [0, %v]", v, d, MaxRetryAfter)
		}
	})
}

// Any URL string either parses into something sendable or is refused with
// ErrBadRequest; relative ones always go to a pool endpoint.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"/", "/a?b=c", "a/b", "http://h:1/x", "https://h/", "ftp://x", "//h/x", "%zz", "", "?q", "#f", "http://[::1]:80/"} {
		f.Add(s)
	}
	c, err := New(Config{Name: "f", Endpoints: []string{"127.0.0.1:1"}})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	f.Fuzz(func(t *testing.T, raw string) {
		tgt, err := c.parse(raw)
		if err != nil {
			return
		}
		switch {
		case tgt.rel != nil:
			if tgt.rel.Host != "" || tgt.rel.Scheme != "" || (tgt.rel.Path != "" && !strings.HasPrefix(tgt.rel.Path, "/")) {
				t.Fatalf("%q: relative target %+v", raw, tgt.rel)
			}
		case tgt.abs != nil:
			if tgt.abs.Scheme != "http" && tgt.abs.Scheme != "https" {
				t.Fatalf("%q: scheme %q", raw, tgt.abs.Scheme)
			}
		default:
			t.Fatalf("%q: empty target", raw)
		}
	})
}
