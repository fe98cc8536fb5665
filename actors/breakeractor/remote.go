package breakeractor

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/viable-systems/vsm-connections/actors/pb"
	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/internal/wire"
)

// RemoteStats is Stats through n, for a breaker actor on any member (pid
// from cluster.Node.PID(member, "s1/breaker/<name>")): the message goes as
// a *pb.BreakerGetStats. The latency histogram stays on the member; every
// other field is the one a local Stats gets.
func RemoteStats(ctx context.Context, n pb.Requester, pid *actor.PID) (cb.Stats, error) {
	return remoteStatsOf(ctx, n, pid, &pb.BreakerGetStats{})
}

// RemoteOpen is Open through n.
func RemoteOpen(ctx context.Context, n pb.Requester, pid *actor.PID) (cb.Stats, error) {
	return remoteStatsOf(ctx, n, pid, &pb.BreakerOpen{})
}

// RemoteClose is Close through n.
func RemoteClose(ctx context.Context, n pb.Requester, pid *actor.PID) (cb.Stats, error) {
	return remoteStatsOf(ctx, n, pid, &pb.BreakerClose{})
}

// RemoteReset is Reset through n.
func RemoteReset(ctx context.Context, n pb.Requester, pid *actor.PID) (cb.Stats, error) {
	return remoteStatsOf(ctx, n, pid, &pb.BreakerReset{})
}

func remoteStatsOf(ctx context.Context, n pb.Requester, pid *actor.PID, msg proto.Message) (cb.Stats, error) {
	v, err := n.Ask(ctx, pid, msg)
	if err != nil {
		return cb.Stats{}, askError(ctx, err)
	}
	return StatsFromProto(v)
}

// StatsFromProto reads a breaker actor's proto reply (*pb.BreakerStatsResult).
func StatsFromProto(reply any) (cb.Stats, error) {
	r, ok := reply.(*pb.BreakerStatsResult)
	if !ok {
		return cb.Stats{}, fmt.Errorf("breakeractor: unexpected reply %T", reply)
	}
	s := r.GetStats()
	var state cb.State
	if err := state.UnmarshalText([]byte(s.GetState())); err != nil {
		return cb.Stats{}, fmt.Errorf("breakeractor: remote stats: %w", err)
	}
	return cb.Stats{
		Name: s.GetName(), State: state, Forced: s.GetForced(), Held: s.GetHeld(), Mode: s.GetMode(),
		Generation: s.GetGeneration(), ConsecutiveFailures: s.GetConsecutiveFailures(),
		Calls: s.GetCalls(), Successes: s.GetSuccesses(), Failures: s.GetFailures(), Ignored: s.GetIgnored(),
		Rejections: s.GetRejections(), Timeouts: s.GetTimeouts(), SlowCalls: s.GetSlowCalls(),
		FailureRate: s.GetFailureRate(), WindowCalls: s.GetWindowCalls(),
		HalfOpenInFlight: int(s.GetHalfOpenInFlight()), ProbeSuccesses: int(s.GetProbeSuccesses()),
		FailedProbes: int(s.GetFailedProbes()), ProbeTimeouts: s.GetProbeTimeouts(),
		ProbeDeadline: wire.Time(s.GetProbeDeadlineUnixNano()), LastTransition: wire.Time(s.GetLastTransitionUnixNano()),
		LastReason: cb.Reason(s.GetLastReason()), NextTransition: wire.Time(s.GetNextTransitionUnixNano()),
		Telemetry: s.GetTelemetry(),
	}, nil
}

func statsToProto(st cb.Stats) *pb.BreakerStatsResult {
	return &pb.BreakerStatsResult{Stats: &pb.BreakerStats{
		Name: st.Name, State: st.State.String(), Forced: st.Forced, Held: st.Held, Mode: st.Mode,
		Generation: st.Generation, ConsecutiveFailures: st.ConsecutiveFailures,
		Calls: st.Calls, Successes: st.Successes, Failures: st.Failures, Ignored: st.Ignored,
		Rejections: st.Rejections, Timeouts: st.Timeouts, SlowCalls: st.SlowCalls,
		FailureRate: st.FailureRate, WindowCalls: st.WindowCalls,
		HalfOpenInFlight: int64(st.HalfOpenInFlight), ProbeSuccesses: int64(st.ProbeSuccesses),
		FailedProbes: int64(st.FailedProbes), ProbeTimeouts: st.ProbeTimeouts,
		ProbeDeadlineUnixNano: wire.Nanos(st.ProbeDeadline), LastTransitionUnixNano: wire.Nanos(st.LastTransition),
		LastReason: string(st.LastReason), NextTransitionUnixNano: wire.Nanos(st.NextTransition),
		Telemetry: st.Telemetry,
	}}
}
