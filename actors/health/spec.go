package health

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/viable-systems/vsm-connections/algedonic"
)

// Kind names the protocol of a check; it is informational (events, the
// snapshot) — the Prober does the work.
type Kind string

const (
	KindHTTP      Kind = "http"
	KindTCP       Kind = "tcp"
	KindGRPC      Kind = "grpc"
	KindRedis     Kind = "redis"
	KindWebSocket Kind = "websocket"
	KindCustom    Kind = "custom"
)

// Prober runs one probe of a target: nil means healthy. It must honour
// ctx, which ends at Spec.Timeout; a probe that ignores it is abandoned at
// the timeout (its goroutine ends when the probe returns).
//
// A Prober that holds resources (connections) may implement io.Closer:
// the checker closes it when it stops for good. Close must leave it usable
// again, because a supervisor may spawn the checker anew from the same
// Props.
type Prober interface {
	Probe(ctx context.Context) error
}

// ProbeFunc adapts a function to Prober (custom checks).
type ProbeFunc func(ctx context.Context) error

// Probe calls f.
func (f ProbeFunc) Probe(ctx context.Context) error { return f(ctx) }

// Defaults of a zero Spec.
const (
	DefaultInterval           = 10 * time.Second
	DefaultTimeout            = 2 * time.Second
	DefaultHealthyThreshold   = 1
	DefaultUnhealthyThreshold = 3
	DefaultJitter             = 0.1
)

// Spec configures one checker. The zero value of every field but Name and
// Probe means its default.
type Spec struct {
	// Name is unique in a Registry, and names the check in events, alerts
	// and the supervision tree.
	Name string
	// Kind is informational; default KindCustom.
	Kind Kind
	// Target is shown in events and snapshots (URL, host:port).
	Target string
	Probe  Prober

	// Interval between the end of a probe and the start of the next.
	// Default DefaultInterval.
	Interval time.Duration
	// UnhealthyInterval replaces Interval while the status is Unhealthy
	// (Envoy's unhealthy_interval): probe a dead target less often, or
	// more often to notice recovery sooner. Default Interval.
	UnhealthyInterval time.Duration
	// Timeout bounds each probe. Default DefaultTimeout.
	Timeout time.Duration
	// Jitter spreads checks so that nodes started together do not probe in
	// step: each delay is the interval times a uniform factor in
	// [1-Jitter, 1+Jitter). Default DefaultJitter (10%); negative means
	// none; at most 1.
	Jitter float64
	// InitialJitter delays the first probe by a uniform random duration in
	// [0, InitialJitter). Default Jitter × Interval; negative means none
	// (probe at once).
	InitialJitter time.Duration

	// HealthyThreshold successes in a row make the status Healthy.
	// Default DefaultHealthyThreshold (1).
	HealthyThreshold int
	// UnhealthyThreshold failures in a row make the status Unhealthy.
	// Default DefaultUnhealthyThreshold (3).
	UnhealthyThreshold int
	// Critical raises an algedonic Critical alert when the check turns
	// Unhealthy, and an Info one when it recovers.
	Critical bool
}

func (s Spec) normalized() (Spec, error) {
	if s.Name == "" {
		return s, fmt.Errorf("%w: empty name", ErrSpec)
	}
	if s.Probe == nil {
		return s, fmt.Errorf("%w %s: no probe", ErrSpec, s.Name)
	}
	if s.Interval < 0 || s.UnhealthyInterval < 0 || s.Timeout < 0 || s.HealthyThreshold < 0 || s.UnhealthyThreshold < 0 || s.Jitter > 1 {
		return s, fmt.Errorf("%w %s: negative interval, timeout or threshold, or jitter above 1", ErrSpec, s.Name)
	}
	if s.Kind == "" {
		s.Kind = KindCustom
	}
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	if s.UnhealthyInterval == 0 {
		s.UnhealthyInterval = s.Interval
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	switch {
	case s.Jitter == 0:
		s.Jitter = DefaultJitter
	case s.Jitter < 0:
		s.Jitter = 0
	}
	switch {
	case s.InitialJitter == 0:
		s.InitialJitter = time.Duration(s.Jitter * float64(s.Interval))
	case s.InitialJitter < 0:
		s.InitialJitter = 0
	}
	if s.HealthyThreshold == 0 {
		s.HealthyThreshold = DefaultHealthyThreshold
	}
	if s.UnhealthyThreshold == 0 {
		s.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	return s, nil
}

// Env is what checkers need from the node. Its zero value works: no
// events, no alerts, the wall clock and math/rand/v2.
type Env struct {
	// Events receives an *event.HealthResult per result and an
	// *event.HealthChanged per transition; nil publishes nothing.
	Events *eventstream.EventStream
	// Alerts receives the alerts of critical checks; nil drops them.
	Alerts algedonic.Raiser
	// Path prefixes the check's name in alert sources, e.g. "s4" gives
	// "s4/db". Default: the name alone.
	Path string
	// Clock schedules probes and measures their latency; nil is the wall
	// clock. Tests inject a fake.
	Clock Clock
	// Rand returns uniform values in [0, 1) for the jitter; nil is
	// math/rand/v2's Float64. It may be called from several checkers'
	// goroutines at once.
	Rand func() float64
	// Buckets are the latency histogram's upper bounds, ascending; nil is
	// DefaultBuckets.
	Buckets []time.Duration
}

func (e Env) normalized() Env {
	if e.Alerts == nil {
		e.Alerts = algedonic.Nop{}
	}
	if e.Clock == nil {
		e.Clock = wallClock{}
	}
	if e.Rand == nil {
		e.Rand = rand.Float64
	}
	if e.Buckets == nil {
		e.Buckets = DefaultBuckets
	}
	return e
}

func (e Env) source(name string) string {
	if e.Path == "" {
		return name
	}
	return e.Path + "/" + name
}

// Clock is the checkers' time source.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f on a goroutine of its own after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not happened.
	Stop() bool
}

type wallClock struct{}

func (wallClock) Now() time.Time                            { return time.Now() }
func (wallClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
