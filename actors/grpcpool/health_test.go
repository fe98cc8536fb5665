package grpcpool

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func TestCheckHealth(t *testing.T) {
	ts := (&testServer{}).start(t, "")
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}})
	ctx := bounded(t)
	ts.health.SetServingStatus("users", healthpb.HealthCheckResponse_SERVING)
	if err := CheckHealth(ctx, ch, "users"); err != nil {
		t.Fatalf("serving: %v", err)
	}
	if err := CheckHealth(ctx, ch, ""); err != nil {
		t.Fatalf("whole server: %v", err)
	}
	ts.health.SetServingStatus("users", healthpb.HealthCheckResponse_NOT_SERVING)
	err := CheckHealth(ctx, ch, "users")
	var ns *NotServingError
	if !errors.Is(err, ErrNotServing) || !errors.As(err, &ns) || ns.Status != "NOT_SERVING" {
		t.Fatalf("not serving: %v", err)
	}
	if err := CheckHealth(ctx, ch, "unknown"); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown service: %v, want NotFound", err)
	}
}

func TestWatchHealth(t *testing.T) {
	ts := (&testServer{}).start(t, "")
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}})
	ctx := bounded(t)
	ts.health.SetServingStatus("users", healthpb.HealthCheckResponse_SERVING)
	var got []bool
	for serving, err := range WatchHealth(ctx, ch, "users") {
		got = append(got, serving)
		switch len(got) {
		case 1:
			if !serving || err != nil {
				t.Fatalf("first: %v, %v; want serving", serving, err)
			}
			ts.health.SetServingStatus("users", healthpb.HealthCheckResponse_NOT_SERVING)
		case 2:
			if serving || !errors.Is(err, ErrNotServing) {
				t.Fatalf("second: %v, %v; want ErrNotServing", serving, err)
			}
			ts.health.SetServingStatus("users", healthpb.HealthCheckResponse_SERVING)
		case 3:
			if !serving || err != nil {
				t.Fatalf("third: %v, %v; want serving", serving, err)
			}
		}
		if len(got) == 3 {
			break
		}
	}
	if len(got) != 3 {
		t.Fatalf("watch ended after %v", got)
	}
	if st := ch.Stats(); st.InFlight != 0 {
		t.Fatalf("%d in flight after leaving the watch", st.InFlight)
	}
}
