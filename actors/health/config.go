package health

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/viable-systems/vsm-connections/config"
)

// SpecFromConfig turns one health_checks entry into a Spec with its
// prober. redis is what a redis check pings (the node's state store); it
// may be nil when no entry is of type redis. The entry should have passed
// config validation; zero fields keep the Spec defaults, which are the
// config defaults.
func SpecFromConfig(name string, c config.HealthCheck, redis Pinger) (Spec, error) {
	s := Spec{
		Name:               name,
		Target:             c.Endpoint(),
		Interval:           c.Interval.D(),
		UnhealthyInterval:  c.UnhealthyInterval.D(),
		Timeout:            c.Timeout.D(),
		Jitter:             c.JitterPercent / 100,
		InitialJitter:      c.InitialJitter.D(),
		HealthyThreshold:   c.HealthyThreshold,
		UnhealthyThreshold: c.UnhealthyThreshold,
		Critical:           c.Critical,
	}
	switch c.Type {
	case config.CheckHTTP, "":
		p := &HTTPProbe{URL: s.Target, ExpectedStatus: slices.Clone(c.ExpectedStatus), BodyContains: c.BodyContains}
		if c.BodyRegexp != "" {
			re, err := regexp.Compile(c.BodyRegexp)
			if err != nil {
				return Spec{}, fmt.Errorf("%w %s: body_regexp: %w", ErrSpec, name, err)
			}
			p.BodyRegexp = re
		}
		s.Kind, s.Probe = KindHTTP, p
	case config.CheckTCP:
		s.Kind, s.Probe = KindTCP, &TCPProbe{Address: s.Target}
	case config.CheckGRPC:
		s.Kind, s.Probe = KindGRPC, &GRPCProbe{Address: s.Target, Service: c.Service}
	case config.CheckWebSocket:
		s.Kind, s.Probe = KindWebSocket, &WebSocketProbe{URL: s.Target}
	case config.CheckRedis:
		if redis == nil {
			return Spec{}, fmt.Errorf("%w %s: a redis check needs the node's Redis", ErrSpec, name)
		}
		s.Kind, s.Target, s.Probe = KindRedis, "redis", PingProbe(redis)
	default:
		return Spec{}, fmt.Errorf("%w %s: unknown type %q", ErrSpec, name, c.Type)
	}
	if s.Target == "" {
		return Spec{}, fmt.Errorf("%w %s: no target", ErrSpec, name)
	}
	return s, nil
}
