package grpcpool

import (
	"context"
	"errors"
	"io"
	"iter"

	"google.golang.org/grpc"
)

// ServerStream runs a server-streaming call as a Go iterator. open makes
// the call with the context it is given, usually a generated stub's
// method:
//
//	for reply, err := range grpcpool.ServerStream(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[pb.Reply], error) {
//		return client.List(ctx, req)
//	}) {
//		if err != nil { ... } // the last value: the stream failed
//		use(reply)
//	}
//
// The sequence yields each reply with a nil error and ends at the end of
// the stream; a failure (open's, or a receive's: a stream cut midway
// gives Unavailable, never a hang) is yielded once, with a nil reply, as
// the last value. Breaking out of the loop cancels the stream, and the
// stream has ended (its breaker call and in-flight count settled) when the
// loop is left.
func ServerStream[T any](ctx context.Context, open func(context.Context) (grpc.ServerStreamingClient[T], error)) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		s, err := open(ctx)
		if err != nil {
			yield(nil, err)
			return
		}
		for {
			m, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(m, nil) {
				// Read the cancelled stream to its end, so that its
				// accounting is settled when the loop is left (the
				// context's callback would do it later, on a goroutine
				// of its own).
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
