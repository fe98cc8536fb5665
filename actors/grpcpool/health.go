package grpcpool

import (
	"context"
	"errors"
	"io"
	"iter"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// CheckHealth calls grpc.health.v1.Health/Check for service ("" is the
// whole server) over cc (a *Channel or any ClientConnInterface). It
// returns nil when the answer is SERVING, a *NotServingError (matching
// ErrNotServing) for any other answer, and the call's error otherwise
// (Unimplemented when the server has no health service). Its signature
// fits a periodic checker: func(ctx) error once cc and service are bound.
func CheckHealth(ctx context.Context, cc grpc.ClientConnInterface, service string) error {
	r, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return err
	}
	if r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return &NotServingError{Service: service, Status: r.GetStatus().String()}
	}
	return nil
}

// WatchHealth calls grpc.health.v1.Health/Watch for service and yields
// the result of each status the server sends (nil for SERVING, a
// *NotServingError otherwise; the server sends the current status first,
// then every change) until ctx ends or the stream fails; a failure is
// yielded last, with false. Breaking out of the loop ends the watch.
func WatchHealth(ctx context.Context, cc grpc.ClientConnInterface, service string) iter.Seq2[bool, error] {
	return func(yield func(bool, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		s, err := healthpb.NewHealthClient(cc).Watch(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			yield(false, err)
			return
		}
		for {
			r, err := s.Recv()
			if errors.Is(err, io.EOF) {
				yield(false, io.ErrUnexpectedEOF) // Watch never ends by itself
				return
			}
			if err != nil {
				yield(false, err)
				return
			}
			ok, err := true, error(nil)
			if r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				ok, err = false, &NotServingError{Service: service, Status: r.GetStatus().String()}
			}
			if !yield(ok, err) {
				cancel()
				for {
					if _, err := s.Recv(); err != nil {
						return
					}
				}
			}
		}
	}
}
