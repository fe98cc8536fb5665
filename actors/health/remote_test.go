package health

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// The proto forms of CheckNow and GetStatus, through a marshal round trip,
// get what the local ones get; a probe failure keeps its sentinel.
func TestRemoteFormsSameAnswers(t *testing.T) {
	probeErr := &StatusError{Got: 503}
	h := start(t, Spec{Name: "m", Kind: KindHTTP, Target: "http://h/", Probe: scripted(probeErr, nil), Jitter: -1,
		Interval: 5 * time.Second, UnhealthyThreshold: 1}, Env{})
	h.clock.nextDelay(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	wa := actortest.WireAsker{Root: h.sys.Root}

	r, err := RemoteRunCheck(ctx, wa, h.pid)
	if err != nil || r.Healthy || r.Check != "m" || r.Status != Unhealthy || !errors.Is(r.Err, ErrStatus) ||
		r.Error != "HTTP status 503, want 2xx" || r.Err.Error() != r.Error || r.At.IsZero() {
		t.Fatalf("%+v %v", r, err)
	}
	if d := h.clock.nextDelay(t); d != 5*time.Second {
		t.Fatalf("re-armed %s", d)
	}
	if r, err = RemoteRunCheck(ctx, wa, h.pid); err != nil || !r.Healthy || r.Err != nil || r.Status != Healthy {
		t.Fatalf("second %+v %v", r, err)
	}
	h.clock.nextDelay(t)

	remote, err := RemoteStatusOf(ctx, wa, h.pid)
	if err != nil {
		t.Fatal(err)
	}
	local, _ := StatusOf(ctx, h.sys.Root, h.pid)
	if remote.Name != "m" || remote.Kind != KindHTTP || remote.Target != "http://h/" || remote.Status != Healthy ||
		remote.Failures != 1 || remote.Successes != 1 || remote.ConsecutiveSuccesses != 1 || len(remote.Recent) != 2 {
		t.Fatalf("remote %+v", remote)
	}
	// Times cross as instants: compare them in one location, without
	// monotonic readings.
	local.Latency = Snapshot{}.Latency
	local.Since, remote.Since = local.Since.UTC().Round(0), remote.Since.UTC()
	for i := range local.Recent {
		local.Recent[i].At, remote.Recent[i].At = local.Recent[i].At.UTC().Round(0), remote.Recent[i].At.UTC()
		// The rebuilt error matches the same sentinels but is another value.
		if (local.Recent[i].Err == nil) != (remote.Recent[i].Err == nil) {
			t.Fatalf("result %d: local %v remote %v", i, local.Recent[i].Err, remote.Recent[i].Err)
		}
		local.Recent[i].Err, remote.Recent[i].Err = nil, nil
	}
	if !reflect.DeepEqual(remote, local) {
		t.Fatalf("remote %+v\n local %+v", remote, local)
	}

	if _, err := RemoteRunCheck(ctx, wa, h.sys.NewLocalPID("nobody")); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("missing actor: %v", err)
	}
}
