package main

import (
	"context"
	"net"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// attacks are the malformed frames a peer can send. Each is sent on its own
// stream after a valid connect request, as protoactor's own writer does.
func attacks(addr string) []struct {
	kind  string
	batch *remote.MessageBatch
} {
	good, _ := proto.Marshal(wrapperspb.String("x"))
	target := []*actor.PID{actor.NewPID(addr, "echo")}
	const sv = "google.protobuf.StringValue"
	return []struct {
		kind  string
		batch *remote.MessageBatch
	}{
		{"unknown-type", &remote.MessageBatch{TypeNames: []string{"no.such.Type"}, Targets: target,
			Envelopes: []*remote.MessageEnvelope{{MessageData: good}}}},
		{"bad-serializer", &remote.MessageBatch{TypeNames: []string{sv}, Targets: target,
			Envelopes: []*remote.MessageEnvelope{{MessageData: good, SerializerId: 7}}}},
		{"bad-target", &remote.MessageBatch{TypeNames: []string{sv}, Targets: target,
			Envelopes: []*remote.MessageEnvelope{{MessageData: good, Target: 5}}}},
		{"bad-type-id", &remote.MessageBatch{TypeNames: []string{sv}, Targets: target,
			Envelopes: []*remote.MessageEnvelope{{MessageData: good, TypeId: 9}}}},
		{"bad-sender", &remote.MessageBatch{TypeNames: []string{sv}, Targets: target,
			Envelopes: []*remote.MessageEnvelope{{MessageData: good, Sender: 9}}}},
		{"garbage-data", &remote.MessageBatch{TypeNames: []string{sv}, Targets: target,
			Envelopes: []*remote.MessageEnvelope{{MessageData: []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x01}}}}},
	}
}

func runAttack(addr, only string) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fatal(err)
	}
	defer conn.Close()
	client := remote.NewRemotingClient(conn)
	for _, a := range attacks(addr) {
		if only != "" && a.kind != only {
			continue
		}
		emit("attack", map[string]any{"kind": a.kind, "err": sendOne(client, a.batch)})
	}
	// protoactor leaves the unary methods as panic("implement me").
	if only == "" || only == "unary" {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := client.ListProcesses(ctx, &remote.ListProcessesRequest{})
		cancel()
		emit("attack", map[string]any{"kind": "unary", "err": status.Code(err).String()})
	}
	// Not gRPC at all: bytes straight onto the port.
	if only == "" || only == "garbage-tcp" {
		emit("attack", map[string]any{"kind": "garbage-tcp", "err": garbageTCP(addr)})
	}
	emit("attack-done", nil)
}

// sendOne sends batch and waits for the receiver to end the stream; it
// returns the gRPC code the receiver ended it with ("" for a clean end).
func sendOne(client remote.RemotingClient, batch *remote.MessageBatch) string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	stream, err := client.Receive(ctx)
	if err != nil {
		return "open: " + err.Error()
	}
	connect := &remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectRequest{ConnectRequest: &remote.ConnectRequest{
		ConnectionType: &remote.ConnectRequest_ServerConnection{ServerConnection: &remote.ServerConnection{SystemId: "attacker", Address: "127.0.0.1:1"}},
	}}}
	if err := stream.Send(connect); err != nil {
		return "connect: " + err.Error()
	}
	if err := stream.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: batch}}); err != nil {
		return "send: " + err.Error()
	}
	for {
		if _, err := stream.Recv(); err != nil {
			return status.Code(err).String()
		}
	}
}

func garbageTCP(addr string) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("\x00\x01garbage, not HTTP/2\r\n\r\n\xff\xfe")); err != nil {
		return err.Error()
	}
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			return "closed"
		}
	}
}
