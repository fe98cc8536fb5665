package health

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// A registry under a real supervisor: a static check from Add, a custom
// one from Register at run time, both visible through Check, Status and
// AllStatus, and removable.
func TestRegistryUnderSupervisor(t *testing.T) {
	sys := actortest.NewSystem(t)
	clock := newFakeClock()
	rec := newRecorder(t, sys)
	reg := NewRegistry(sys.Root, Env{Events: sys.EventStream, Alerts: rec, Path: "s4", Clock: clock, Rand: fixedRand(0.5)})
	spec, err := reg.Add(Spec{Name: "static", Probe: scripted(errBoom), UnhealthyThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Add(Spec{Name: "static", Probe: scripted()}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate Add: %v", err)
	}
	if err := reg.Register(context.Background(), "early", func(context.Context) error { return nil }, 0); !errors.Is(err, ErrNoSupervisor) {
		t.Fatalf("Register before Supervise: %v", err)
	}
	sup := sys.Root.Spawn(supervisor.Props("s4", supervisor.Config{}, supervisor.Env{}, spec))
	t.Cleanup(func() { _ = sys.Root.StopFuture(sup).Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := reg.Supervise(ctx, sup); err != nil {
		t.Fatal(err)
	}
	if c, _ := reg.Checker("static"); c.PID() == nil {
		t.Fatal("Supervise did not learn the static checker's PID")
	}
	clock.nextDelay(t) // the static checker has started
	if s, ok := reg.Status("static"); !ok || s.Status != Unknown || s.Kind != KindCustom {
		t.Fatalf("before any probe: %+v %v", s, ok)
	}
	r, err := reg.Check(ctx, "static")
	if err != nil || r.Status != Unhealthy || !errors.Is(r.Err, errBoom) {
		t.Fatalf("Check: %+v %v", r, err)
	}
	clock.nextDelay(t)

	calls := make(chan struct{}, 8)
	if err := reg.Register(ctx, "custom", func(context.Context) error { calls <- struct{}{}; return nil }, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(ctx, "custom", func(context.Context) error { return nil }, 0); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate Register: %v", err)
	}
	r, err = reg.Check(ctx, "custom") // right after Register: no wait for Started
	if err != nil || r.Status != Healthy || len(calls) != 1 {
		t.Fatalf("custom Check: %+v %v (calls %d)", r, err, len(calls))
	}
	if c, _ := reg.Checker("custom"); c.Spec().Interval != time.Minute {
		t.Fatalf("interval %s", c.Spec().Interval)
	}

	all := reg.AllStatus()
	if len(all) != 2 || all["static"].Status != Unhealthy || all["custom"].Status != Healthy {
		t.Fatalf("AllStatus %+v", all)
	}
	if names := reg.Names(); !reflect.DeepEqual(names, []string{"custom", "static"}) {
		t.Fatalf("names %v", names)
	}
	if _, err := reg.Check(ctx, "nope"); !errors.Is(err, ErrUnknownCheck) {
		t.Fatalf("unknown: %v", err)
	}
	if _, ok := reg.Status("nope"); ok {
		t.Fatal("Status of an unknown check")
	}

	if err := reg.Remove(ctx, "custom"); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Status("custom"); ok {
		t.Fatal("removed check still listed")
	}
	if err := reg.Remove(ctx, "custom"); !errors.Is(err, ErrUnknownCheck) {
		t.Fatalf("second Remove: %v", err)
	}
	kids, err := supervisor.List(ctx, sys.Root, sup)
	if err != nil || len(kids) != 1 || kids[0].Name != "static" {
		t.Fatalf("children %+v %v", kids, err)
	}
}

func TestSpecValidation(t *testing.T) {
	for _, s := range []Spec{
		{Probe: scripted()},
		{Name: "x"},
		{Name: "x", Probe: scripted(), Interval: -time.Second},
		{Name: "x", Probe: scripted(), Jitter: 1.5},
		{Name: "x", Probe: scripted(), HealthyThreshold: -1},
	} {
		if _, err := NewChecker(s, Env{}); !errors.Is(err, ErrSpec) {
			t.Errorf("%+v: %v", s, err)
		}
	}
}
