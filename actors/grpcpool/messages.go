package grpcpool

import (
	"time"

	"google.golang.org/protobuf/proto"
)

// The channel actor's messages. They hold proto.Message and error values
// and are meant for actors on the same node; do not modify one once sent.

// Invoke asks the channel actor for a unary call of Method (the full name,
// "/pkg.Service/Method") with Request. The reply, sent to the sender, is
// an *InvokeResult or a *Failure. The call runs off the actor's mailbox,
// under a context that ends at Deadline (if set; it is sent on the wire)
// or when the actor stops; without a Deadline, Config.Timeout applies.
// The reply's type is the method's output type, found in the protobuf
// registry: the generated code of the service must be linked in.
type Invoke struct {
	Method   string
	Request  proto.Message
	Deadline time.Time
}

// InvokeResult is the reply to a successful Invoke.
type InvokeResult struct {
	Reply proto.Message
}

// Failure is the reply to a request that failed. Err matches the
// package's errors with errors.Is and carries the call's gRPC status
// (status.Code(Err)).
type Failure struct {
	Err error
}

// OpenServerStream asks the channel actor for a server-streaming call of
// Method with Request, delivered to the sender: first a *StreamOpened,
// then one *StreamMessage per reply, then one *StreamEnded. Delivery is
// flow-controlled: at most Window messages (default 16) are sent before
// the consumer acknowledges them with AckStream; meanwhile the stream is
// not read, so grpc-go's flow control holds the server back. Deadline
// bounds the whole stream and is sent on the wire.
type OpenServerStream struct {
	Method   string
	Request  proto.Message
	Deadline time.Time
	Window   int
}

// DefaultWindow is OpenServerStream.Window when zero.
const DefaultWindow = 16

// StreamOpened tells the consumer the id of its stream, for AckStream and
// CancelStream. It comes before any StreamMessage.
type StreamOpened struct {
	Stream uint64
}

// StreamMessage is one reply of a server stream; Seq counts from 0.
type StreamMessage struct {
	Stream uint64
	Seq    int
	Msg    proto.Message
}

// StreamEnded is the last message of a stream: Err is nil when the server
// ended it with OK, else the stream's error (a cut stream is Unavailable;
// a cancelled one Canceled).
type StreamEnded struct {
	Stream uint64
	Err    error
}

// AckStream, sent to the channel actor, grants the stream N more messages
// (acknowledges N it has handled).
type AckStream struct {
	Stream uint64
	N      int
}

// CancelStream, sent to the channel actor, cancels a stream; a
// StreamEnded with Canceled follows.
type CancelStream struct {
	Stream uint64
}

// GetStats asks for the channel's stats; the reply is a *StatsResult.
type GetStats struct{}

// StatsResult is the reply to GetStats.
type StatsResult struct {
	Stats Stats
}

// scaleUp is sent by the call that saw the streams in flight reach the
// scale-up ratio.
type scaleUp struct{}

// idleCheck is sent by the idle timer.
type idleCheck struct{}
