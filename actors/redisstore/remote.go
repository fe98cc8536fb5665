package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/viable-systems/vsm-connections/actors/pb"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/internal/offload"
	"github.com/viable-systems/vsm-connections/internal/wire"
	"github.com/viable-systems/vsm-connections/state"
)

// kinds are the sentinels a state reply names on the wire, so that a
// remote caller's errors.Is matches what a local one's does.
var kinds = wire.Table(
	wire.Kind{Name: "state.not_found", Err: state.ErrNotFound},
	wire.Kind{Name: "state.unavailable", Err: state.ErrUnavailable},
	wire.Kind{Name: "state.not_integer", Err: state.ErrNotInteger},
	wire.Kind{Name: "state.cross_slot", Err: state.ErrCrossSlot},
	wire.Kind{Name: "state.closed", Err: state.ErrClosed},
	wire.Kind{Name: "redisstore.not_replicated", Err: ErrNotReplicated},
	wire.Kind{Name: "offload.busy", Err: offload.ErrBusy},
)

// receiveProto serves the protobuf forms of the state messages (package
// actors/pb), which a custom actor on another member sends; the replies
// are protobuf too. Values cross as raw bytes: StateSet stores them as
// they are, StateGet returns the stored bytes.
func (a *stateActor) receiveProto(ctx actor.Context, msg proto.Message) bool {
	st := a.sh.st
	switch m := msg.(type) {
	case *pb.StateGet:
		key := m.GetKey()
		fail := func(err error) any { return &pb.StateGetResult{Key: key, Error: wire.Encode(err, kinds)} }
		a.run(ctx, wire.Time(m.GetDeadlineUnixNano()), func(c context.Context) any {
			var v []byte
			if err := st.Get(c, key, &v); err != nil {
				return fail(err)
			}
			return &pb.StateGetResult{Key: key, Value: v}
		}, fail)
	case *pb.StateSet:
		a.run(ctx, wire.Time(m.GetDeadlineUnixNano()), func(c context.Context) any {
			var opts []state.SetOption
			if ttl := time.Duration(m.GetTtlNanos()); ttl > 0 {
				opts = append(opts, state.Expire(ttl))
			}
			return protoResult(st.Set(c, m.GetKey(), m.GetValue(), opts...))
		}, protoResult)
	case *pb.StateDel:
		a.run(ctx, wire.Time(m.GetDeadlineUnixNano()), func(c context.Context) any {
			return protoCount(st.Del(c, m.GetKeys()...))
		}, protoCountErr)
	case *pb.StateIncr:
		by := m.GetBy()
		if by == 0 {
			by = 1
		}
		a.run(ctx, wire.Time(m.GetDeadlineUnixNano()), func(c context.Context) any {
			return protoCount(st.IncrBy(c, m.GetKey(), by))
		}, protoCountErr)
	case *pb.StatePublish:
		a.run(ctx, wire.Time(m.GetDeadlineUnixNano()), func(c context.Context) any {
			return protoResult(st.Publish(c, m.GetChannel(), m.GetValue()))
		}, protoResult)
	case *pb.StatePing:
		a.run(ctx, wire.Time(m.GetDeadlineUnixNano()), func(c context.Context) any {
			return protoResult(st.Ping(c))
		}, protoResult)
	default:
		return false
	}
	return true
}

func protoResult(err error) any { return &pb.StateResult{Error: wire.Encode(err, kinds)} }

func protoCount(n int64, err error) any {
	return &pb.StateCountResult{N: n, Error: wire.Encode(err, kinds)}
}

func protoCountErr(err error) any { return protoCount(0, err) }

// RemoteGet is a Get through n, for the state actor of any member (pid
// from cluster.Node.PID(member, "vsm/s1/redis/store")): the raw stored
// bytes (decode them with state.Decode). Errors match what a local Get's
// do: state.ErrNotFound, state.ErrUnavailable...
func RemoteGet(ctx context.Context, n pb.Requester, pid *actor.PID, key string) ([]byte, error) {
	v, err := remoteAsk[*pb.StateGetResult](ctx, n, pid, &pb.StateGet{Key: key, DeadlineUnixNano: wireDeadline(ctx)})
	if err != nil {
		return nil, err
	}
	if e := v.GetError(); e != nil {
		return nil, wire.Decode(e, kinds)
	}
	return v.GetValue(), nil
}

// RemoteSet stores value (raw bytes, as state.Encode would produce) under
// key on that member, expiring after ttl when ttl > 0.
func RemoteSet(ctx context.Context, n pb.Requester, pid *actor.PID, key string, value []byte, ttl time.Duration) error {
	return remoteResult(ctx, n, pid, &pb.StateSet{Key: key, Value: value, TtlNanos: int64(ttl), DeadlineUnixNano: wireDeadline(ctx)})
}

// RemoteDel deletes keys on that member and returns how many existed.
func RemoteDel(ctx context.Context, n pb.Requester, pid *actor.PID, keys ...string) (int64, error) {
	return remoteCount(ctx, n, pid, &pb.StateDel{Keys: keys, DeadlineUnixNano: wireDeadline(ctx)})
}

// RemoteIncr adds by (0 means 1) to the integer under key on that member.
func RemoteIncr(ctx context.Context, n pb.Requester, pid *actor.PID, key string, by int64) (int64, error) {
	return remoteCount(ctx, n, pid, &pb.StateIncr{Key: key, By: by, DeadlineUnixNano: wireDeadline(ctx)})
}

// RemotePublish publishes value (raw bytes) on channel through that member.
func RemotePublish(ctx context.Context, n pb.Requester, pid *actor.PID, channel string, value []byte) error {
	return remoteResult(ctx, n, pid, &pb.StatePublish{Channel: channel, Value: value, DeadlineUnixNano: wireDeadline(ctx)})
}

// RemotePing pings that member's store.
func RemotePing(ctx context.Context, n pb.Requester, pid *actor.PID) error {
	return remoteResult(ctx, n, pid, &pb.StatePing{DeadlineUnixNano: wireDeadline(ctx)})
}

func remoteResult(ctx context.Context, n pb.Requester, pid *actor.PID, msg proto.Message) error {
	v, err := remoteAsk[*pb.StateResult](ctx, n, pid, msg)
	if err != nil {
		return err
	}
	return wire.Decode(v.GetError(), kinds)
}

func remoteCount(ctx context.Context, n pb.Requester, pid *actor.PID, msg proto.Message) (int64, error) {
	v, err := remoteAsk[*pb.StateCountResult](ctx, n, pid, msg)
	if err != nil {
		return 0, err
	}
	if e := v.GetError(); e != nil {
		return 0, wire.Decode(e, kinds)
	}
	return v.GetN(), nil
}

func remoteAsk[T proto.Message](ctx context.Context, n pb.Requester, pid *actor.PID, msg proto.Message) (T, error) {
	var zero T
	v, err := n.Ask(ctx, pid, msg)
	if err != nil {
		return zero, fmt.Errorf("redisstore: remote %T: %w", msg, ask.ContextError(ctx, err))
	}
	r, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("redisstore: unexpected reply %T to %T", v, msg)
	}
	return r, nil
}

// wireDeadline is ctx's deadline for the wire (0: none).
func wireDeadline(ctx context.Context) int64 {
	if dl, ok := ctx.Deadline(); ok {
		return wire.Nanos(dl)
	}
	return 0
}
