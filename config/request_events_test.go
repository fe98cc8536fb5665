package config

import (
	"strings"
	"testing"
)

// request_events is an HTTP pool's key: read on http pools, refused with
// its line on the others.
func TestRequestEventsKey(t *testing.T) {
	c, err := Parse("vsm.yaml", []byte("pools:\n  api: {host: h, port: 1, request_events: true}\n  quiet: {host: h, port: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Pools["api"].RequestEvents || c.Pools["quiet"].RequestEvents {
		t.Fatalf("request_events read as %v and %v, want true and false (the default)", c.Pools["api"].RequestEvents, c.Pools["quiet"].RequestEvents)
	}
	got := mustProblems(t, "pools:\n  feed:\n    protocol: websocket\n    host: h\n    port: 1\n    request_events: true\n")
	want := `vsm.yaml:6: pools.feed.request_events: only for http pools, and this one is websocket`
	if strings.Join(got, "\n") != want {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}
