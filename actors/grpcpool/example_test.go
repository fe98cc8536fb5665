package grpcpool_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"

	"github.com/viable-systems/vsm-connections/actors/grpcpool"
	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
	"github.com/viable-systems/vsm-connections/breaker"
)

type echo struct{ testpb.UnimplementedTestServer }

func (echo) Unary(_ context.Context, r *testpb.Request) (*testpb.Reply, error) {
	return &testpb.Reply{Text: "echo: " + r.GetText()}, nil
}

func (echo) ServerStream(r *testpb.Request, s grpc.ServerStreamingServer[testpb.Reply]) error {
	for i := range r.GetCount() {
		if err := s.Send(&testpb.Reply{Seq: i}); err != nil {
			return err
		}
	}
	return nil
}

func Example() {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := grpc.NewServer(grpc.MaxConcurrentStreams(100))
	testpb.RegisterTestServer(srv, echo{})
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()

	ch, err := grpcpool.New(grpcpool.Config{
		Name:      "echo",
		Endpoints: []string{l.Addr().String()},
		Breaker:   breaker.New("echo", breaker.Settings{}),
		Timeout:   2 * time.Second, // for calls whose context has no deadline
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ch.Close()

	client := testpb.NewTestClient(ch) // a generated stub, unchanged
	ctx := context.Background()
	r, err := client.Unary(ctx, &testpb.Request{Text: "hi"})
	fmt.Println(r.GetText(), err)

	for m, err := range grpcpool.ServerStream(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[testpb.Reply], error) {
		return client.ServerStream(ctx, &testpb.Request{Count: 3})
	}) {
		if err != nil {
			fmt.Println("stream failed:", err)
			break
		}
		fmt.Println("reply", m.GetSeq())
	}
	st := ch.Stats()
	fmt.Println("conns", len(st.Conns), "stream limit", st.StreamLimit, "OK", st.Codes["OK"])
	// Output:
	// echo: hi <nil>
	// reply 0
	// reply 1
	// reply 2
	// conns 1 stream limit 100 OK 2
}
