package httppool

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/pb"
	cb "github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/internal/wire"
	"github.com/viable-systems/vsm-connections/pool"
)

// kinds are the sentinels a pool's failure carries across members.
var kinds = wire.Table(
	wire.Kind{Name: "httppool.body_too_large", Err: ErrBodyTooLarge},
	wire.Kind{Name: "httppool.status", Err: ErrStatus},
	wire.Kind{Name: "httppool.timeout", Err: ErrTimeout},
	wire.Kind{Name: "httppool.closed", Err: ErrClosed},
	wire.Kind{Name: "httppool.no_pool", Err: ErrNoPool},
	wire.Kind{Name: "httppool.no_breaker", Err: ErrNoBreaker},
	wire.Kind{Name: "httppool.busy", Err: ErrBusy},
	wire.Kind{Name: "httppool.bad_request", Err: ErrBadRequest},
	wire.Kind{Name: "pool.invalid_size", Err: pool.ErrInvalidSize},
	wire.Kind{Name: "pool.closed", Err: pool.ErrClosed},
	wire.Kind{Name: "pool.timeout", Err: pool.ErrTimeout},
	wire.Kind{Name: "breaker.open", Err: cb.ErrOpen},
	wire.Kind{Name: "breaker.too_many_probes", Err: cb.ErrTooManyProbes},
	wire.Kind{Name: "breaker.timeout", Err: cb.ErrTimeout},
)

// RequestToProto is req's wire form (*pb.HttpDoRequest), for a pool actor
// on another member.
func RequestToProto(req *DoRequest) *pb.HttpDoRequest {
	return &pb.HttpDoRequest{Method: req.Method, Url: req.URL, Header: headerToProto(req.Header), Body: req.Body,
		Breaker: req.Breaker, DeadlineUnixNano: wire.Nanos(req.Deadline)}
}

func requestFromProto(m *pb.HttpDoRequest) *DoRequest {
	return &DoRequest{Method: m.GetMethod(), URL: m.GetUrl(), Header: headerFromProto(m.GetHeader()), Body: m.GetBody(),
		Breaker: m.GetBreaker(), Deadline: wire.Time(m.GetDeadlineUnixNano())}
}

// ReplyFromProto reads a pool actor's proto reply to a *pb.HttpDoRequest
// (inside a custom actor's Receive, say): the *Response, or the error
// rebuilt so that errors.Is matches the same sentinels as locally
// (ErrTimeout, ErrStatus as a *StatusError with its Response, breaker.ErrOpen,
// context.DeadlineExceeded...).
func ReplyFromProto(reply any) (*Response, error) {
	switch r := reply.(type) {
	case *pb.HttpResponse:
		return responseFromProto(r), nil
	case *pb.HttpFailure:
		return nil, failureFromProto(r)
	}
	return nil, fmt.Errorf("httppool: unexpected reply %T", reply)
}

// RemoteSend is Send through n for a pool actor on any member (pid from
// cluster.Node.PID(member, "s1/pool/<name>")): req goes as a
// *pb.HttpDoRequest, its Deadline defaulting to ctx's, and the answer is
// the one a local Send gets. A member that dies with the request in flight
// gives an error matching context.DeadlineExceeded at ctx's deadline.
func RemoteSend(ctx context.Context, n pb.Requester, pid *actor.PID, req *DoRequest) (*Response, error) {
	m := RequestToProto(req)
	if dl, ok := ctx.Deadline(); ok && req.Deadline.IsZero() {
		m.DeadlineUnixNano = dl.UnixNano()
	}
	v, err := n.Ask(ctx, pid, m)
	if err != nil {
		return nil, askError(ctx, err)
	}
	return ReplyFromProto(v)
}

// RemotePoolStats is PoolStats through n.
func RemotePoolStats(ctx context.Context, n pb.Requester, pid *actor.PID) (Stats, error) {
	v, err := n.Ask(ctx, pid, &pb.HttpGetStats{})
	if err != nil {
		return Stats{}, askError(ctx, err)
	}
	return statsFromProto(v)
}

// RemoteResize is Resize through n.
func RemoteResize(ctx context.Context, n pb.Requester, pid *actor.PID, size int) (Stats, error) {
	v, err := n.Ask(ctx, pid, &pb.HttpResizePool{Size: int64(size)})
	if err != nil {
		return Stats{}, askError(ctx, err)
	}
	return statsFromProto(v)
}

func statsFromProto(v any) (Stats, error) {
	r, ok := v.(*pb.HttpPoolStats)
	if !ok {
		return Stats{}, fmt.Errorf("httppool: unexpected reply %T", v)
	}
	if r.GetError() != nil {
		return Stats{}, wire.Decode(r.GetError(), kinds)
	}
	var st Stats
	if err := json.Unmarshal(r.GetJson(), &st); err != nil {
		return Stats{}, fmt.Errorf("httppool: decode remote stats: %w", err)
	}
	return st, nil
}

func statsToProto(st Stats, err error) *pb.HttpPoolStats {
	if err != nil {
		return &pb.HttpPoolStats{Error: wire.Encode(err, kinds)}
	}
	b, jerr := json.Marshal(st)
	if jerr != nil {
		return &pb.HttpPoolStats{Error: wire.Encode(fmt.Errorf("httppool: encode stats: %w", jerr), kinds)}
	}
	return &pb.HttpPoolStats{Json: b}
}

func responseToProto(r *Response) *pb.HttpResponse {
	if r == nil {
		return nil
	}
	return &pb.HttpResponse{Status: int32(r.Status), Header: headerToProto(r.Header), Body: r.Body,
		Endpoint: r.Endpoint, Attempts: int32(r.Attempts)}
}

func responseFromProto(r *pb.HttpResponse) *Response {
	return &Response{Status: int(r.GetStatus()), Header: headerFromProto(r.GetHeader()), Body: r.GetBody(),
		Endpoint: r.GetEndpoint(), Attempts: int(r.GetAttempts())}
}

func failureToProto(err error) *pb.HttpFailure {
	f := &pb.HttpFailure{Error: wire.Encode(err, kinds)}
	if se, ok := asStatusError(err); ok {
		f.Response, f.Pool, f.Method, f.Url = responseToProto(se.Response), se.Pool, se.Method, se.URL
	}
	return f
}

// failureFromProto gives a status failure back as a *StatusError (callers
// read its Response, as the admin API does); other failures as an error
// matching the original's sentinels.
func failureFromProto(f *pb.HttpFailure) error {
	if f.GetResponse() != nil {
		return &StatusError{Pool: f.GetPool(), Method: f.GetMethod(), URL: f.GetUrl(), Response: responseFromProto(f.GetResponse())}
	}
	if f.GetError() == nil {
		return fmt.Errorf("httppool: remote failure without an error")
	}
	return wire.Decode(f.GetError(), kinds)
}

func headerToProto(h http.Header) map[string]*pb.HeaderValues {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]*pb.HeaderValues, len(h))
	for k, vs := range h {
		out[k] = &pb.HeaderValues{Values: vs}
	}
	return out
}

func headerFromProto(m map[string]*pb.HeaderValues) http.Header {
	if len(m) == 0 {
		return nil
	}
	h := make(http.Header, len(m))
	for k, vs := range m {
		h[k] = vs.GetValues()
	}
	return h
}

// doProto is do for the wire form: the same work, answered in proto.
func (a *poolActor) doProto(ctx actor.Context, m *pb.HttpDoRequest) {
	if ctx.Sender() == nil {
		return
	}
	req, c := requestFromProto(m), a.c
	a.requests.Run(ctx, req.Deadline, func(rctx context.Context) any {
		resp, err := c.Do(rctx, Request{Method: req.Method, URL: req.URL, Header: req.Header, Body: req.Body, Breaker: req.Breaker})
		if err != nil {
			return failureToProto(err)
		}
		return responseToProto(resp)
	}, func(err error) any { return failureToProto(fmt.Errorf("httppool: pool actor: %w", err)) })
}

// resizeProto is resize for the wire form.
func (a *poolActor) resizeProto(ctx actor.Context, m *pb.HttpResizePool) {
	st, err := a.doResize(int(m.GetSize()))
	ctx.Respond(statsToProto(st, err))
}
