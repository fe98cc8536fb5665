package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/viable-systems/vsm-connections/event"
)

// NewRegistry returns a registry with the Go runtime (go_*) and process
// (process_*) collectors registered, as Prometheus exporters serve them. It
// is the registry a node makes when given none: a registry the caller passes
// in is the caller's, and so are the process-wide metrics on it (two nodes
// sharing one registry, or a Go collector set up with other options, would
// otherwise clash).
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	// A fresh registry holds nothing these could clash with.
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Metrics holds the event-derived collectors.
type Metrics struct {
	events      *prometheus.CounterVec
	restarts    *prometheus.CounterVec
	stops       *prometheus.CounterVec
	escalations *prometheus.CounterVec
	alerts      *prometheus.CounterVec
	transitions *prometheus.CounterVec
}

// New registers the collectors on reg. dropped, when not nil, is read at
// scrape time for vsm_telemetry_events_dropped_total.
func New(reg prometheus.Registerer, dropped func() uint64) (*Metrics, error) {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vsm_events_total", Help: "Events published on the node's event stream, by kind.",
		}, []string{"kind"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vsm_actor_restarts_total", Help: "Restarts of supervised actors, by stable name.",
		}, []string{"name"}),
		stops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vsm_actor_stops_total", Help: "Supervised actors that stopped for good, by stable name.",
		}, []string{"name"}),
		escalations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vsm_supervision_escalations_total", Help: "Children given up on after exceeding their restart intensity, by supervisor.",
		}, []string{"supervisor"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vsm_alerts_total", Help: "Algedonic alerts published by System 5, by severity.",
		}, []string{"severity"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vsm_breaker_transitions_total", Help: "Circuit breaker state changes, by breaker and new state.",
		}, []string{"name", "to"}),
	}
	cs := []prometheus.Collector{m.events, m.restarts, m.stops, m.escalations, m.alerts, m.transitions}
	if dropped != nil {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vsm_telemetry_events_dropped_total", Help: "Events the metrics subscriber lost because it fell behind.",
		}, func() float64 { return float64(dropped()) }))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Observe updates the metrics for one event.
func (m *Metrics) Observe(ev event.Event) {
	m.events.WithLabelValues(ev.Kind()).Inc()
	switch e := ev.(type) {
	case *event.ActorRestarted:
		m.restarts.WithLabelValues(e.Name).Inc()
	case *event.ActorStopped:
		m.stops.WithLabelValues(e.Name).Inc()
	case *event.SupervisionEscalated:
		m.escalations.WithLabelValues(e.Supervisor).Inc()
	case *event.AlertRaised:
		m.alerts.WithLabelValues(e.Severity).Inc()
	case *event.BreakerStateChanged:
		m.transitions.WithLabelValues(e.Name, e.To).Inc()
	}
}

// AlertLane is what the alert-lane metrics read: algedonic.Lane.
type AlertLane interface {
	Queued() int
	Dropped() uint64
}

// RegisterAlertLane registers, on reg, the gauge of alerts waiting in S5's
// alert lane and the counter of alerts it refused, both read from lane at
// scrape time. Alerts wait there for a moment behind the one being
// handled, and for longer while S5 restarts; a queue that stays up, or any
// drop, means S5 is not taking alerts.
func RegisterAlertLane(reg prometheus.Registerer, lane AlertLane) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vsm_alert_lane_queued", Help: "Algedonic alerts waiting in System 5's alert lane.",
		}, func() float64 { return float64(lane.Queued()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "vsm_alert_lane_dropped_total", Help: "Algedonic alerts System 5's alert lane refused because its backlog was full.",
		}, func() float64 { return float64(lane.Dropped()) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
