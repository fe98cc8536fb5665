package telemetry_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// values maps "name{label=value,...}" to the sample's value.
func values(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName() + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetName() + "=" + l.GetValue()
			}
			out[key+"}"] = m.GetCounter().GetValue()
		}
	}
	return out
}

func TestObserveCountsEvents(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := telemetry.New(reg, func() uint64 { return 3 })
	if err != nil {
		t.Fatal(err)
	}
	m.Observe(&event.ActorRestarted{Name: "s1/x"})
	m.Observe(&event.ActorRestarted{Name: "s1/x"})
	m.Observe(&event.AlertRaised{Severity: "critical"})
	m.Observe(&event.BreakerStateChanged{Name: "api", To: "open"})
	m.Observe(&event.SupervisionEscalated{Supervisor: "s1"})
	m.Observe(&event.ActorStopped{Name: "s1/y"})
	got := values(t, reg)
	for key, want := range map[string]float64{
		"vsm_actor_restarts_total{name=s1/x}":              2,
		"vsm_actor_stops_total{name=s1/y}":                 1,
		"vsm_alerts_total{severity=critical}":              1,
		"vsm_breaker_transitions_total{name=api,to=open}":  1,
		"vsm_supervision_escalations_total{supervisor=s1}": 1,
		"vsm_events_total{kind=actor.restarted}":           2,
		"vsm_events_total{kind=alert.raised}":              1,
		"vsm_telemetry_events_dropped_total{}":             3,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	if _, err := telemetry.New(reg, nil); err == nil {
		t.Fatal("registering twice on one registry succeeded")
	}
}

// TestNewRegistryServesRuntimeMetrics: the registry a node makes serves the
// Go runtime and process metrics, and the node's own register beside them.
func TestNewRegistryServesRuntimeMetrics(t *testing.T) {
	reg := telemetry.NewRegistry()
	if _, err := telemetry.New(reg, nil); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "go_info",
		"process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds"} {
		if !have[name] {
			t.Errorf("no %s", name)
		}
	}
}

type lane struct {
	queued  int
	dropped uint64
}

func (l *lane) Queued() int     { return l.queued }
func (l *lane) Dropped() uint64 { return l.dropped }

// The lane's metrics are read at scrape time.
func TestAlertLaneMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	l := &lane{}
	if err := telemetry.RegisterAlertLane(reg, l); err != nil {
		t.Fatal(err)
	}
	gauge := func() (float64, float64) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var q, d float64
		for _, mf := range mfs {
			switch mf.GetName() {
			case "vsm_alert_lane_queued":
				q = mf.GetMetric()[0].GetGauge().GetValue()
			case "vsm_alert_lane_dropped_total":
				d = mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return q, d
	}
	if q, d := gauge(); q != 0 || d != 0 {
		t.Fatalf("queued %v dropped %v, want 0 0", q, d)
	}
	l.queued, l.dropped = 7, 3
	if q, d := gauge(); q != 7 || d != 3 {
		t.Fatalf("queued %v dropped %v, want 7 3", q, d)
	}
	if err := telemetry.RegisterAlertLane(reg, l); err == nil {
		t.Fatal("registering twice on one registry succeeded")
	}
}
