package health_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/health"
	"github.com/viable-systems/vsm-connections/supervisor"
)

func Example() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	defer api.Close()

	// S4 builds the registry, adds the configured checks, and supervises
	// their actors.
	reg := health.NewRegistry(sys.Root, health.Env{Events: sys.EventStream, Path: "s4"})
	spec, err := reg.Add(health.Spec{
		Name: "api", Kind: health.KindHTTP, Target: api.URL, Interval: time.Minute,
		Probe: &health.HTTPProbe{URL: api.URL, ExpectedStatus: []int{200, 204}, BodyContains: `"ok"`},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s4 := sys.Root.Spawn(supervisor.Props("s4", supervisor.Config{}, supervisor.Env{}, spec))
	defer func() { _ = sys.Root.StopFuture(s4).Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := reg.Supervise(ctx, s4); err != nil {
		fmt.Println(err)
		return
	}
	// (Each checker also probes on its own, every Interval after a random
	// initial delay; Check probes now.)
	// A custom check registered at run time (the seed's register_service).
	_ = reg.Register(ctx, "disk", func(context.Context) error { return errors.New("disk full") }, time.Minute)

	r, _ := reg.Check(ctx, "api")
	fmt.Println("api:", r.Healthy, r.Status)
	r, _ = reg.Check(ctx, "disk")
	fmt.Println("disk:", r.Healthy, r.Status, r.Err)

	for _, name := range reg.Names() {
		s, _ := reg.Status(name)
		fmt.Printf("%s (%s): %s\n", name, s.Kind, s.Status)
	}
	// Output:
	// api: true healthy
	// disk: false unknown disk full
	// api (http): healthy
	// disk (custom): unknown
}
