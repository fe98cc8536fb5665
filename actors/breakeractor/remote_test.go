package breakeractor

import (
	"reflect"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/actors/pb"
	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// onWire drops what does not cross the wire (the histogram) and the
// monotonic clock readings, so that two Stats compare with DeepEqual.
func onWire(s cb.Stats) cb.Stats {
	s.Latency = cb.Stats{}.Latency
	for _, t := range []*time.Time{&s.ProbeDeadline, &s.LastTransition, &s.NextTransition} {
		*t = t.Round(0)
	}
	return s
}

// Every breaker query and command in proto form, through a marshal round
// trip, gets the stats a local caller gets.
func TestRemoteFormsSameStats(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := cb.New("api", cb.Settings{FailureThreshold: 2, RecoveryTimeout: time.Hour})
	pid := spawn(t, sys, Props(b, Env{}))
	ctx := bg(t)
	wa := actortest.WireAsker{Root: sys.Root}
	b.Call(ctx, ok)
	b.Call(ctx, fail)

	local, err := Stats(ctx, sys.Root, pid)
	if err != nil {
		t.Fatal(err)
	}
	remote, err := RemoteStats(ctx, wa, pid)
	if err != nil {
		t.Fatal(err)
	}
	if remote.Name != "api" || remote.State != cb.Closed || remote.Calls != 2 || remote.Failures != 1 || remote.ConsecutiveFailures != 1 {
		t.Fatalf("remote %+v", remote)
	}
	if !reflect.DeepEqual(onWire(remote), onWire(local)) {
		t.Fatalf("remote %+v\n local %+v", remote, local)
	}

	st, err := RemoteOpen(ctx, wa, pid)
	if err != nil || st.State != cb.Open || !st.Forced || st.LastReason != cb.ReasonManualOpen || st.LastTransition.IsZero() {
		t.Fatalf("open %+v %v", st, err)
	}
	if st, err = RemoteClose(ctx, wa, pid); err != nil || st.State != cb.Closed || st.Forced || st.Calls != 2 {
		t.Fatalf("close %+v %v", st, err)
	}
	if st, err = RemoteReset(ctx, wa, pid); err != nil || st.State != cb.Closed || st.Calls != 0 {
		t.Fatalf("reset %+v %v", st, err)
	}
	local, _ = Stats(ctx, sys.Root, pid)
	if !reflect.DeepEqual(onWire(st), onWire(local)) {
		t.Fatalf("after reset: remote %+v\n local %+v", st, local)
	}
}

// A proto query gets a proto reply.
func TestProtoQueryProtoReply(t *testing.T) {
	sys := actortest.NewSystem(t)
	pid := spawn(t, sys, Props(cb.New("db", cb.Settings{}), Env{}))
	v, err := actortest.WireAsker{Root: sys.Root}.Ask(bg(t), pid, &pb.BreakerGetStats{})
	if r, ok := v.(*pb.BreakerStatsResult); err != nil || !ok || r.GetStats().GetName() != "db" || r.GetStats().GetState() != "closed" {
		t.Fatalf("%T %v %v", v, v, err)
	}
}
