// Package grpcpool is the gRPC adapter: a Channel (a few grpc-go
// ClientConns to one service, used as one grpc.ClientConnInterface so that
// generated stubs work unchanged) and the supervised actor that owns it,
// meant to live in S1 as an operational unit.
//
// # Connections
//
// grpc-go's advice is one ClientConn per target; a second one pays off
// only when the streams in flight near the server's
// SETTINGS_MAX_CONCURRENT_STREAMS, past which grpc-go queues new streams
// on the client. A Channel starts with one ClientConn. grpc-go does not
// expose the peer's SETTINGS, so the channel reads them where grpc-go
// does: its transport credentials wrap each transport's conn (after TLS)
// with a scanner of the HTTP/2 frame headers the client reads, which
// decodes only SETTINGS frames and applies grpc-go's rules (the last
// advertised value wins; a first SETTINGS frame without the limit means
// none). Config.MaxConcurrentStreams caps it, or stands in when a server
// (or a proxy) does not advertise one. Calls are packed onto the oldest
// ClientConn with room; when the calls in flight reach ScaleUpRatio (0.8)
// of the known limit, the one call that sees it first asks the actor for
// another ClientConn (MaxConns at most), and the actor closes an extra that
// carried no call for IdleTimeout. A conn being closed finishes its calls
// first.
//
// Within a ClientConn, grpc-go's own balancers spread calls over the
// endpoints, chosen with the service config (pick_first, round_robin,
// least_request): the package adds no picker below grpc-go's.
//
// # The call path
//
// Interceptors on every ClientConn apply, for a unary call:
//
//	default deadline (Config.Timeout, when ctx has none)
//	  └─ retry (gRFC A6: MaxAttempts, RetryableCodes, jittered backoff,
//	     a token bucket shared by the channel)
//	       └─ per attempt: breaker Allow → grpc-go → judge → breaker Done
//
// and, for a stream, the breaker around the whole stream (judged by the
// status it ends with; streams are not retried). Only Config.FailureCodes
// count against the breaker (default Unavailable, DeadlineExceeded,
// ResourceExhausted, Internal); a call its caller cancelled counts for
// nothing. A breaker rejection is an error with status Unavailable that
// matches breaker.ErrOpen. Deadlines from ctx, an actor message's
// Deadline or the breaker's CallTimeout travel on the wire as grpc-go
// sends them (grpc-timeout). The default deadline, Config.Timeout, ends
// the call on the client only: the server sees no deadline and its
// context is cancelled when the client gives up, as grpc-go resets the
// stream. It guards against calls that never end without costing the
// server a timer per call.
//
// Server streams can be read as a Go iterator (ServerStream) or delivered
// to an actor with backpressure (OpenServerStream); client and
// bidirectional streams pass through grpc-go unchanged. CheckHealth and
// WatchHealth call grpc.health.v1.
//
// # Events
//
// event.AdapterRequest (Protocol "grpc", Status the gRPC code), one per
// call, with Config.RequestEvents (as in package httppool); the actor
// publishes ConnOpened
// ("grpc.conn_opened") and ConnClosed ("grpc.conn_closed").
//
// # The actor
//
// It accepts:
//
//	*Invoke           → *InvokeResult or *Failure   a unary call; the reply's
//	                                                type comes from the proto
//	                                                registry
//	*OpenServerStream → *StreamOpened, *StreamMessage..., *StreamEnded
//	*AckStream, *CancelStream                       flow control of a stream
//	*GetStats         → *StatsResult
//
// Calls and streams run on goroutines of the actor's (at most
// Env.MaxRequests), never in its mailbox. The actor owns the set of
// ClientConns (scale up, idle close) and keeps no other state: the Channel
// it is given holds conns, stats and retry tokens, so a restart loses
// nothing. Call and ChannelStats are typed, context-aware helpers.
//
// # Test service
//
// internal/testpb holds the service the tests run against; its generated
// code is committed. Regenerate with go generate ./actors/grpcpool/...
// (protoc 3.21 from Debian's protobuf-compiler, protoc-gen-go v1.36.12 and
// protoc-gen-go-grpc v1.6.2 on PATH).
//
// A channel actor also answers *pb.GrpcInvoke (package actors/pb: the
// request packed in an Any) with a *pb.GrpcInvokeResult, for callers on
// another cluster member: RemoteCall. Server streams are local only.
package grpcpool
