package grpcpool

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/viable-systems/vsm-connections/actors/pb"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/internal/wire"
)

// kinds are the sentinels a call's failure carries across members; its
// gRPC code crosses too.
var kinds = wire.Table(
	wire.Kind{Name: "grpcpool.closed", Err: ErrClosed},
	wire.Kind{Name: "grpcpool.unknown_method", Err: ErrUnknownMethod},
	wire.Kind{Name: "grpcpool.not_serving", Err: ErrNotServing},
	wire.Kind{Name: "grpcpool.busy", Err: ErrBusy},
	wire.Kind{Name: "breaker.open", Err: breaker.ErrOpen},
	wire.Kind{Name: "breaker.too_many_probes", Err: breaker.ErrTooManyProbes},
	wire.Kind{Name: "breaker.timeout", Err: breaker.ErrTimeout},
)

// RemoteCall is Call through n, for a channel actor on any member: req
// goes packed in a *pb.GrpcInvoke (both members must link in the request's
// and the reply's types), ctx's deadline with it. The error matches the
// sentinels the member's did and carries its gRPC code (status.Code).
func RemoteCall(ctx context.Context, n pb.Requester, pid *actor.PID, method string, req proto.Message) (proto.Message, error) {
	packed, err := anypb.New(req)
	if err != nil {
		return nil, fmt.Errorf("grpcpool: pack request: %w", err)
	}
	m := &pb.GrpcInvoke{Method: method, Request: packed}
	if dl, ok := ctx.Deadline(); ok {
		m.DeadlineUnixNano = dl.UnixNano()
	}
	v, err := n.Ask(ctx, pid, m)
	if err != nil {
		return nil, askError(ctx, err)
	}
	r, ok := v.(*pb.GrpcInvokeResult)
	if !ok {
		return nil, fmt.Errorf("grpcpool: unexpected reply %T", v)
	}
	if e := r.GetError(); e != nil {
		return nil, errorFromProto(e)
	}
	reply, err := r.GetReply().UnmarshalNew()
	if err != nil {
		return nil, fmt.Errorf("grpcpool: unpack reply: %w", err)
	}
	return reply, nil
}

func errorToProto(err error) *pb.Error {
	e := wire.Encode(err, kinds)
	if st, ok := status.FromError(err); ok {
		e.GrpcCode = uint32(st.Code())
	}
	return e
}

func errorFromProto(e *pb.Error) error {
	err := wire.Decode(e, kinds)
	if c := codes.Code(e.GetGrpcCode()); c != codes.OK {
		return withCode(c, err)
	}
	return err
}

func (a *channelActor) invokeProto(ctx actor.Context, m *pb.GrpcInvoke) {
	if ctx.Sender() == nil {
		return
	}
	ch := a.ch
	a.requests.Run(ctx, wire.Time(m.GetDeadlineUnixNano()), func(rctx context.Context) any {
		req, err := m.GetRequest().UnmarshalNew()
		if err != nil {
			return &pb.GrpcInvokeResult{Error: errorToProto(withCode(codes.InvalidArgument,
				fmt.Errorf("%w: request type: %w", ErrUnknownMethod, err)))}
		}
		reply, err := invoke(rctx, ch, m.GetMethod(), req)
		if err != nil {
			return &pb.GrpcInvokeResult{Error: errorToProto(err)}
		}
		packed, err := anypb.New(reply)
		if err != nil {
			return &pb.GrpcInvokeResult{Error: errorToProto(fmt.Errorf("grpcpool: pack reply: %w", err))}
		}
		return &pb.GrpcInvokeResult{Reply: packed}
	}, func(err error) any {
		return &pb.GrpcInvokeResult{Error: errorToProto(busy(err))}
	})
}
