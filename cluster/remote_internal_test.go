package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/viable-systems/vsm-connections/internal/actortest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// watchServer serves gRPC's health service on loopback: its Watch is a
// stream that stays open until one side ends it, as protoactor's
// remoting stream does.
func watchServer(t *testing.T) (addr string, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	stop = func() { srv.Stop(); <-done }
	t.Cleanup(stop)
	return l.Addr().String(), stop
}

// openWatch dials addr (with quietClose when quiet) and opens a Watch
// stream whose first reply has been read, so the next read blocks.
func openWatch(t *testing.T, addr string, quiet bool) (*grpc.ClientConn, grpc.ClientStream) {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if quiet {
		opts = append(opts, grpc.WithChainStreamInterceptor(quietClose))
	}
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	desc := &healthpb.Health_ServiceDesc.Streams[0]
	s, err := cc.NewStream(context.Background(), desc, healthpb.Health_Watch_FullMethodName)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMsg(&healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := s.RecvMsg(new(healthpb.HealthCheckResponse)); err != nil {
		t.Fatal(err)
	}
	return cc, s
}

// blockedRead starts the read protoactor's writer keeps open and returns
// its outcome.
func blockedRead(s grpc.ClientStream) <-chan error {
	got := make(chan error, 1)
	go func() { got <- s.RecvMsg(new(healthpb.HealthCheckResponse)) }()
	return got
}

// TestQuietCloseOwnClose: closing the connection on this side ends the
// open read with io.EOF, which protoactor's reader takes as a completed
// stream; without the interceptor it is the Canceled error that made
// protoactor publish the address as terminated.
func TestQuietCloseOwnClose(t *testing.T) {
	addr, _ := watchServer(t)
	for _, quiet := range []bool{false, true} {
		cc, s := openWatch(t, addr, quiet)
		got := blockedRead(s)
		time.Sleep(20 * time.Millisecond) // the read is blocked, as the writer's is
		_ = cc.Close()
		err := actortest.Recv(t, got)
		if quiet && err != io.EOF {
			t.Errorf("with quietClose: %v, want io.EOF", err)
		}
		if !quiet && status.Code(err) != codes.Canceled {
			t.Errorf("without it: %v, want Canceled (grpc's own close error)", err)
		}
	}
}

// TestQuietClosePeerLoss: the far side going away is still an error, so
// protoactor still drops the endpoint of a member that died.
func TestQuietClosePeerLoss(t *testing.T) {
	addr, stop := watchServer(t)
	_, s := openWatch(t, addr, true)
	got := blockedRead(s)
	stop()
	if err := actortest.Recv(t, got); err == nil || err == io.EOF {
		t.Errorf("server stopped: %v, want an error other than io.EOF", err)
	}
}

// TestQuietCloseAfterFailedSend: a writer that stopped itself because a
// send failed has not been removed from the endpoint manager; its read
// error must go through so the manager forgets it.
func TestQuietCloseAfterFailedSend(t *testing.T) {
	addr, _ := watchServer(t)
	cc, s := openWatch(t, addr, true)
	// A send after CloseSend fails inside grpc-go, as a send on a broken
	// stream does.
	if err := s.SendMsg(&healthpb.HealthCheckRequest{}); err == nil {
		t.Fatal("send after CloseSend succeeded")
	}
	got := blockedRead(s)
	time.Sleep(20 * time.Millisecond)
	_ = cc.Close()
	if err := actortest.Recv(t, got); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("closed after a failed send: %v, want the close error", err)
	}
}

// remoteSystems are two actor systems with protoactor's remote on free
// loopback ports, dialling with the options a Node uses.
//
// They are stopped without protoactor's graceful Shutdown, which sends on
// the channel of every endpoint reader it has seen; a reader whose stream
// ended with an error has closed its channel without removing it
// (remote/endpoint_reader.go), so that send panics, or races with the close
// under -race. Node.Stop recovers from the panic; here each side stops its
// endpoint to the other (closing its connection), then its server.
func remoteSystems(t *testing.T) (a, b *actor.ActorSystem) {
	t.Helper()
	var systems [2]*actor.ActorSystem
	var remotes [2]*remote.Remote
	for i := range systems {
		sys := actortest.NewSystem(t) // shut down after the remotes (cleanups run last first)
		port, err := freePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		var panics atomic.Uint64
		srv, dial := grpcOptions(Config{}, sys.Logger(), &panics)
		r := remote.NewRemote(sys, remote.Configure("127.0.0.1", port, remote.WithServerOptions(srv...), remote.WithDialOptions(dial...)))
		r.Start()
		systems[i], remotes[i] = sys, r
	}
	t.Cleanup(func() {
		for i, sys := range systems {
			sys.EventStream.Publish(&remote.EndpointTerminatedEvent{Address: systems[1-i].Address()})
		}
		for _, r := range remotes {
			r.Shutdown(false)
		}
	})
	return systems[0], systems[1]
}

// TestRemovedEndpointLeavesItsSuccessor: when a member leaves, protoactor's
// member list publishes its address as terminated and the endpoint
// manager stops that endpoint's writer. The next message to the address
// gets a new writer. Without quietClose the old writer's stream reader
// then published the address as terminated again, stopping the new writer
// with the message it held: the request below was lost in about half of
// the rounds.
func TestRemovedEndpointLeavesItsSuccessor(t *testing.T) {
	a, b := remoteSystems(t)
	echo, err := b.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(*wrapperspb.StringValue); ok {
			c.Respond(m)
		}
	}), "echo")
	if err != nil {
		t.Fatal(err)
	}
	target := actor.NewPID(b.Address(), echo.Id)
	const rounds = 30
	lost := 0
	for i := range rounds {
		if i > 0 {
			a.EventStream.Publish(&remote.EndpointTerminatedEvent{Address: b.Address()})
		}
		want := fmt.Sprint("round ", i)
		got, err := a.Root.RequestFuture(target, wrapperspb.String(want), 2*time.Second).Result()
		if err != nil {
			lost++
			continue
		}
		if v, _ := got.(*wrapperspb.StringValue); v.GetValue() != want {
			t.Fatalf("round %d: reply %v, want %q", i, got, want)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d requests lost after their endpoint was replaced", lost, rounds)
	}
}
