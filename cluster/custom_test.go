package cluster_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// upstream is a loopback HTTP server answering "<tag> <method> <uri>".
func upstream(t *testing.T, tag string) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "%s %s %s", tag, r.Method, r.URL.RequestURI())
	}))
	t.Cleanup(s.Close)
	return s.Listener.Addr().(*net.TCPAddr).String()
}

// TestCustomActorCallsRemotePool is the issue's "a custom actor on node 1
// calls an HTTP pool on node 3": an actor of the user's own on a, started
// with a plain Spawn, sends a *pb.HttpDoRequest with ctx.Request to c's
// pool actor and receives c's *pb.HttpResponse in its mailbox. Only c's
// pool points at upstream "c"; a's own pool points at another server, so
// the body says which pool did the work.
func TestCustomActorCallsRemotePool(t *testing.T) {
	upA, upC := upstream(t, "up-a"), upstream(t, "up-c")
	procs := formed(t, []string{"a", "b", "c"}, [][]string{{"-pool", upA}, nil, {"-pool", upC}})
	a := procs[0]

	r := a.do("custom c /hello?x=1", "custom")
	if r.Err != "" || r.To != "c" || r.Status != http.StatusAccepted || r.Value != "up-c GET /hello?x=1" || r.Endpoint != upC {
		t.Fatalf("a's custom actor to c's pool: %+v", r)
	}
	// The same actor and message to a's own pool stay local and reach the
	// other upstream.
	if r := a.do("custom a /own", "custom"); r.Err != "" || r.Status != http.StatusAccepted || r.Value != "up-a GET /own" || r.Endpoint != upA {
		t.Fatalf("a's custom actor to a's pool: %+v", r)
	}
	// A failure crosses back as the pool's error (errors.Is matches
	// httppool.ErrBadRequest on a), not as a timeout: c's pool refuses a
	// URL that does not parse.
	if r := a.do("custom c ::bad", "custom"); r.Kind != "httppool.bad_request" || !strings.Contains(r.Err, "missing protocol scheme") || r.Status != 0 {
		t.Fatalf("bad URL through c's pool: %+v", r)
	}
	// b runs no pool: the dead letter protoactor sends back reaches the
	// custom actor at once (no wait for its receive timeout).
	if r := a.do("custom b /x", "custom"); r.Kind != "ask.no_actor" || r.Status != 0 || time.Duration(r.Took) > 2*time.Second {
		t.Fatalf("b's missing pool: %+v", r)
	}
	if r := a.do("custom z /x", "custom"); r.Kind != "cluster.unknown_member" || r.Status != 0 {
		t.Fatalf("unknown member: %+v", r)
	}
}
