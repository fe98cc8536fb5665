package vsm

import (
	"context"
	"fmt"
	"slices"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/viable-systems/vsm-connections/actors/breakeractor"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// BreakerPrefix is the prefix of breaker actors' names under S1: the
// breaker "api" is the actor "s1/breaker/api".
const BreakerPrefix = "breaker/"

// startBreakers starts one supervised actor per configured breaker under S1.
// The *breaker.Breaker lives here, outside the actor, so a restart of the
// actor keeps its state.
func (n *Node) startBreakers(ctx context.Context) error {
	names := make([]string, 0, len(n.cfg.CircuitBreakers))
	for name := range n.cfg.CircuitBreakers {
		names = append(names, name)
	}
	slices.Sort(names)
	n.breakers = make(map[string]*breaker.Breaker, len(names))
	for _, name := range names {
		s, err := breakeractor.SettingsFromConfig(n.cfg.CircuitBreakers[name])
		if err != nil {
			return fmt.Errorf("circuit_breakers.%s: %w", name, err)
		}
		if _, err := n.AddBreaker(ctx, breaker.New(name, s)); err != nil {
			return err
		}
	}
	return n.registry.Register(breakerCollector{n})
}

// AddBreaker supervises b under S1 as "s1/breaker/<name>" and makes it
// available by name. Breakers from the config are added at Start.
func (n *Node) AddBreaker(ctx context.Context, b *breaker.Breaker) (*actor.PID, error) {
	name := b.Name()
	full := S1 + "/" + BreakerPrefix + name
	pid, err := n.StartChild(ctx, S1, supervisor.ChildSpec{
		Name:  BreakerPrefix + name,
		Props: breakeractor.Props(b, breakeractor.Env{Events: n.sys.EventStream, Alerts: n.alerts, Name: full}),
	})
	if err != nil {
		return nil, fmt.Errorf("vsm: breaker %q: %w", name, err)
	}
	n.mu.Lock()
	n.breakers[name] = b
	n.mu.Unlock()
	return pid, nil
}

// Breaker returns the breaker called name. Call it from any goroutine:
// b.Call(ctx, fn) decides on atomics, without a mailbox hop.
func (n *Node) Breaker(name string) (*breaker.Breaker, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	b, ok := n.breakers[name]
	return b, ok
}

// BreakerPID is the PID of the actor owning the breaker called name, for
// actors that drive it by message (package actors/breakeractor).
func (n *Node) BreakerPID(name string) (*actor.PID, bool) {
	return n.dir.Lookup(S1 + "/" + BreakerPrefix + name)
}

// Breakers returns every breaker, sorted by name.
func (n *Node) Breakers() []*breaker.Breaker {
	n.mu.Lock()
	out := make([]*breaker.Breaker, 0, len(n.breakers))
	for _, b := range n.breakers {
		out = append(out, b)
	}
	n.mu.Unlock()
	slices.SortFunc(out, func(a, b *breaker.Breaker) int {
		switch {
		case a.Name() < b.Name():
			return -1
		case a.Name() > b.Name():
			return 1
		}
		return 0
	})
	return out
}

// breakerCollector exports every breaker's counters at scrape time, so the
// call path pays nothing for Prometheus.
type breakerCollector struct{ n *Node }

var (
	breakerStateDesc = prometheus.NewDesc("vsm_breaker_state",
		"Circuit breaker state: 0 closed, 1 open, 2 half-open.", []string{"name"}, nil)
	breakerCallsDesc = prometheus.NewDesc("vsm_breaker_calls_total",
		"Calls through a circuit breaker, by outcome.", []string{"name", "outcome"}, nil)
	breakerLatencyDesc = prometheus.NewDesc("vsm_breaker_call_duration_seconds",
		"Sampled duration of calls through a circuit breaker.", []string{"name"}, nil)
)

func (breakerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- breakerStateDesc
	ch <- breakerCallsDesc
	ch <- breakerLatencyDesc
}

func (c breakerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, b := range c.n.Breakers() {
		st := b.Stats()
		name := b.Name()
		ch <- prometheus.MustNewConstMetric(breakerStateDesc, prometheus.GaugeValue, float64(stateValue(st.State)), name)
		for outcome, v := range map[string]uint64{
			"success": st.Successes, "failure": st.Failures, "rejected": st.Rejections,
			"timeout": st.Timeouts, "slow": st.SlowCalls,
		} {
			ch <- prometheus.MustNewConstMetric(breakerCallsDesc, prometheus.CounterValue, float64(v), name, outcome)
		}
		if h := st.Latency; h.Count > 0 {
			// Prometheus buckets are cumulative; ours are not.
			buckets := make(map[float64]uint64, len(h.Bounds))
			var cum uint64
			for i, le := range h.Bounds {
				cum += h.Counts[i]
				buckets[le.Seconds()] = cum
			}
			ch <- prometheus.MustNewConstHistogram(breakerLatencyDesc, h.Count, h.Sum.Seconds(), buckets, name)
		}
	}
}

func stateValue(s breaker.State) int {
	switch s {
	case breaker.Open:
		return 1
	case breaker.HalfOpen:
		return 2
	}
	return 0
}
