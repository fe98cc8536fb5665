package config

import (
	"strings"
	"testing"
)

// request_events is a key of HTTP and gRPC pools: read on those, refused
// with its line on the others.
func TestRequestEventsKey(t *testing.T) {
	c, err := Parse("vsm.yaml", []byte("pools:\n  api: {host: h, port: 1, request_events: true}\n  quiet: {host: h, port: 2}\n  rpc: {protocol: grpc, host: h, port: 3, request_events: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Pools["api"].RequestEvents || c.Pools["quiet"].RequestEvents || !c.Pools["rpc"].RequestEvents {
		t.Fatalf("request_events read as %v, %v and %v, want true, false (the default) and true",
			c.Pools["api"].RequestEvents, c.Pools["quiet"].RequestEvents, c.Pools["rpc"].RequestEvents)
	}
	got := mustProblems(t, "pools:\n  feed:\n    protocol: websocket\n    host: h\n    port: 1\n    request_events: true\n")
	want := `vsm.yaml:6: pools.feed.request_events: only for http or grpc pools, and this one is websocket`
	if strings.Join(got, "\n") != want {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}
