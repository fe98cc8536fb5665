package s4

import (
	"context"
	"fmt"
	"slices"

	"github.com/viable-systems/vsm-connections/actors/health"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/telemetry"
)

// CheckSupervisor is the supervisor of the health checkers under S4: the
// check "db" is the actor "s4/check/db", so no check name can collide with
// S4's own children such as "s4/redis".
const CheckSupervisor = "check"

var _ telemetry.HealthSource = (*S4)(nil)

// StartChecks supervises one checker per health_checks entry under
// "s4/check", and makes the registry ready for checks registered at run
// time (Health().Register). redis is what a redis check pings (the node's
// state store); it may be nil when no entry is of type redis. It is called
// once, with no checks too; on error nothing of it is left running.
func (s *S4) StartChecks(ctx context.Context, cfg map[string]config.HealthCheck, redis health.Pinger) error {
	sup, ok := s.env.Directory.Lookup(Name)
	if !ok {
		return ErrNotRunning
	}
	var kids []supervisor.ChildSpec
	names := make([]string, 0, len(cfg))
	for name := range cfg {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		spec, err := health.SpecFromConfig(name, cfg[name], redis)
		if err != nil {
			return fmt.Errorf("health_checks.%s: %w", name, err)
		}
		kid, err := s.reg.Add(spec)
		if err != nil {
			return fmt.Errorf("health_checks.%s: %w", name, err)
		}
		kids = append(kids, kid)
	}
	pid, err := supervisor.Start(ctx, s.env.Root, sup, supervisor.ChildSpec{
		Name:  CheckSupervisor,
		Kind:  supervisor.KindSupervisor,
		Props: supervisor.Props(Name+"/"+CheckSupervisor, s.env.Supervision, s.env.Supervisor, kids...),
	})
	if err != nil {
		return fmt.Errorf("s4: %s: %w", CheckSupervisor, err)
	}
	// Supervise waits for the supervisor's Started, which spawns the
	// checkers, and learns their PIDs: Check works once this returns.
	return s.reg.Supervise(ctx, pid)
}

// Health is the registry of the node's health checks: Check, Status,
// AllStatus, Register. Register works once StartChecks has run.
func (s *S4) Health() *health.Registry { return s.reg }

// HealthSamples implements telemetry.HealthSource from the checkers'
// snapshots, read without a mailbox hop.
func (s *S4) HealthSamples() []telemetry.HealthSample {
	names := s.reg.Names()
	out := make([]telemetry.HealthSample, 0, len(names))
	for _, name := range names {
		st, ok := s.reg.Status(name)
		if !ok {
			continue // removed since Names
		}
		h := st.Latency
		out = append(out, telemetry.HealthSample{
			Name: name, Kind: string(st.Kind), Status: int(st.Status),
			Successes: st.Successes, Failures: st.Failures,
			Bounds: h.Bounds, Counts: h.Counts, Count: h.Count, Sum: h.Sum,
		})
	}
	return out
}
