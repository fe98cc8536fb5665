package health

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/pb"
	"github.com/viable-systems/vsm-connections/internal/wire"
)

// kinds are the sentinels a check's failure carries across members.
var kinds = wire.Table(
	wire.Kind{Name: "health.timeout", Err: ErrTimeout},
	wire.Kind{Name: "health.panicked", Err: ErrPanicked},
	wire.Kind{Name: "health.status", Err: ErrStatus},
	wire.Kind{Name: "health.body", Err: ErrBody},
	wire.Kind{Name: "health.not_serving", Err: ErrNotServing},
	wire.Kind{Name: "health.not_running", Err: ErrNotRunning},
)

// RemoteRunCheck is RunCheck through n, for a checker on any member: the
// message goes as a *pb.HealthCheckNow. The result's Err matches the
// sentinels the member's did (ErrTimeout, ErrStatus...).
func RemoteRunCheck(ctx context.Context, n pb.Requester, pid *actor.PID) (Result, error) {
	v, err := n.Ask(ctx, pid, &pb.HealthCheckNow{})
	if err != nil {
		return Result{}, askError(ctx, err)
	}
	r, ok := v.(*pb.HealthCheckResult)
	if !ok {
		return Result{}, fmt.Errorf("health: unexpected reply %T", v)
	}
	if r.GetError() != nil {
		return Result{}, wire.Decode(r.GetError(), kinds)
	}
	return resultFromProto(r.GetResult()), nil
}

// RemoteStatusOf is StatusOf through n. The latency histogram stays on
// the member.
func RemoteStatusOf(ctx context.Context, n pb.Requester, pid *actor.PID) (Snapshot, error) {
	v, err := n.Ask(ctx, pid, &pb.HealthGetStatus{})
	if err != nil {
		return Snapshot{}, askError(ctx, err)
	}
	r, ok := v.(*pb.HealthStatusResult)
	if !ok {
		return Snapshot{}, fmt.Errorf("health: unexpected reply %T", v)
	}
	return snapshotFromProto(r.GetSnapshot()), nil
}

func checkResultToProto(r *CheckResult) *pb.HealthCheckResult {
	if r.Err != nil {
		return &pb.HealthCheckResult{Error: wire.Encode(r.Err, kinds)}
	}
	return &pb.HealthCheckResult{Result: resultToProto(r.Result)}
}

func resultToProto(r Result) *pb.HealthResult {
	return &pb.HealthResult{Check: r.Check, Healthy: r.Healthy, LatencyNanos: int64(r.Latency),
		AtUnixNano: wire.Nanos(r.At), Error: r.Error, Status: r.Status.String(), Failure: wire.Encode(r.Err, kinds)}
}

func resultFromProto(r *pb.HealthResult) Result {
	return Result{Check: r.GetCheck(), Healthy: r.GetHealthy(), Latency: durationOf(r.GetLatencyNanos()),
		At: wire.Time(r.GetAtUnixNano()), Error: r.GetError(), Status: statusOf(r.GetStatus()),
		Err: wire.Decode(r.GetFailure(), kinds)}
}

func snapshotToProto(s Snapshot) *pb.HealthSnapshot {
	out := &pb.HealthSnapshot{Name: s.Name, Kind: string(s.Kind), Target: s.Target, Critical: s.Critical,
		Status: s.Status.String(), SinceUnixNano: wire.Nanos(s.Since),
		ConsecutiveSuccesses: int64(s.ConsecutiveSuccesses), ConsecutiveFailures: int64(s.ConsecutiveFailures),
		Successes: s.Successes, Failures: s.Failures}
	for _, r := range s.Recent {
		out.Recent = append(out.Recent, resultToProto(r))
	}
	return out
}

func snapshotFromProto(s *pb.HealthSnapshot) Snapshot {
	out := Snapshot{Name: s.GetName(), Kind: Kind(s.GetKind()), Target: s.GetTarget(), Critical: s.GetCritical(),
		Status: statusOf(s.GetStatus()), Since: wire.Time(s.GetSinceUnixNano()),
		ConsecutiveSuccesses: int(s.GetConsecutiveSuccesses()), ConsecutiveFailures: int(s.GetConsecutiveFailures()),
		Successes: s.GetSuccesses(), Failures: s.GetFailures()}
	for _, r := range s.GetRecent() {
		out.Recent = append(out.Recent, resultFromProto(r))
	}
	return out
}

// statusOf reads a Status's name; an unknown one reads as Unknown.
func statusOf(name string) Status {
	for s, n := range statusNames {
		if n == name {
			return Status(s)
		}
	}
	return Unknown
}

func durationOf(n int64) time.Duration { return time.Duration(n) }
