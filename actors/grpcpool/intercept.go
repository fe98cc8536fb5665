package grpcpool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/event"
)

// The interceptors are installed on every ClientConn of a channel, so they
// run whichever conn a call was given:
//
//	unary:  default deadline → retry (A6, throttled) → per attempt:
//	        breaker Allow → grpc-go (balancer, transport) → judge → Done
//	stream: breaker Allow → grpc-go → ... → judge at the stream's end
//
// The deadline is outermost, so that it bounds all the attempts (A6); the
// breaker is asked per attempt, so that an open breaker stops the retries
// and each attempt counts. grpc-go sends the context's deadline on the wire
// (grpc-timeout): the caller's deadline and the breaker's CallTimeout go
// there. The default deadline (Config.Timeout) does not: it is the
// client's guard against a call that never ends, not a budget the caller
// chose, and on the wire it costs a timer per call on the server as well
// (about 0.15x of a small call's throughput, BENCHMARKS.md). When it fires
// the call ends with DeadlineExceeded as any deadline's does, and grpc-go
// resets the stream, which cancels the server's context.

// unary is the channel's unary client interceptor.
func (ch *Channel) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	wire := ctx // what grpc-go is given: ctx less a default deadline
	if ch.deadline != nil {
		if _, ok := ctx.Deadline(); !ok {
			if ctx.Done() == nil {
				// Never cancelled: the shared deadline of this instant.
				ctx = ch.deadline.Bound(ctx)
			} else {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, ch.cfg.Timeout)
				defer cancel()
			}
			wire = offWire{ctx}
		}
	}
	listened := ch.listened()
	var start time.Time
	if listened {
		start = time.Now()
	}
	var err error
	for n := 1; ; n++ {
		err = ch.attempt(ctx, wire, method, req, reply, cc, invoker, opts)
		if err == nil {
			ch.throttle.success()
			break
		}
		if !ch.retry(ctx, err, n) {
			break
		}
	}
	ch.stats.record(codeOf(err))
	if listened {
		ch.publish(method, start, err)
	}
	return err
}

// offWire is a context whose deadline grpc-go does not see, and so does
// not send: Done, Err and Value (and so the cancellation a child context
// registers under) are the context's own.
type offWire struct{ context.Context }

func (offWire) Deadline() (time.Time, bool) { return time.Time{}, false }

// attempt is one try of a unary call: ctx bounds it, and grpc-go is given
// wire, which is ctx or ctx with its deadline off the wire.
func (ch *Channel) attempt(ctx, wire context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption) error {
	tok, err := ch.allow(method)
	if err != nil {
		return err
	}
	if ch.callTimeout <= 0 {
		err = invoker(wire, method, req, reply, cc, opts...)
		ch.judge(ctx, tok, err)
		return err
	}
	return ch.timedAttempt(ctx, wire, tok, method, req, reply, cc, invoker, opts)
}

// timedAttempt bounds one attempt by the breaker's CallTimeout, as
// breaker.Call does, unless the caller's deadline is sooner. When that
// limit fires the call counts as a timeout in the breaker's stats and fails
// with DeadlineExceeded wrapping a *breaker.TimeoutError (errors.Is matches
// breaker.ErrTimeout and context.DeadlineExceeded); the deadline also goes
// on the wire, so the server stops working on it.
func (ch *Channel) timedAttempt(ctx, wire context.Context, tok breaker.Token, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= ch.callTimeout {
		err := invoker(wire, method, req, reply, cc, opts...)
		ch.judge(ctx, tok, err)
		return err
	}
	start := time.Now()
	actx, cancel := context.WithTimeout(wire, ch.callTimeout)
	defer cancel()
	err := invoker(actx, method, req, reply, cc, opts...)
	if err != nil && ctx.Err() == nil && (actx.Err() == context.DeadlineExceeded || ch.serverEnforced(err, start)) {
		te := &breaker.TimeoutError{Name: ch.cfg.Breaker.Name(), Timeout: ch.callTimeout, Err: err}
		tok.Done(ctx, te)
		return withCode(codes.DeadlineExceeded, fmt.Errorf("grpcpool: channel %s: %s: %w", ch.cfg.Name, method, te))
	}
	ch.judge(ctx, tok, err)
	return err
}

// serverEnforced reports whether err is the server enforcing our
// CallTimeout: the server's deadline is ours less the header's transit,
// so its DeadlineExceeded can arrive just before our own timer fires.
// Within the last tenth of CallTimeout, that is what it is (a server's own
// upstream timeout that early is not told apart).
func (ch *Channel) serverEnforced(err error, start time.Time) bool {
	return codeOf(err) == codes.DeadlineExceeded && time.Since(start) >= ch.callTimeout-ch.callTimeout/10
}

// allow asks the breaker; a rejection is Unavailable (the call was not
// sent) and matches breaker.ErrOpen.
func (ch *Channel) allow(method string) (breaker.Token, error) {
	b := ch.cfg.Breaker
	if b == nil {
		return breaker.Token{}, nil
	}
	tok, err := b.Allow()
	if err != nil {
		ch.stats.rejected.Add(1)
		return tok, withCode(codes.Unavailable, fmt.Errorf("grpcpool: channel %s: %s: %w", ch.cfg.Name, method, err))
	}
	return tok, nil
}

// judge records an outcome with the breaker: only FailureCodes count
// against it; a call its own caller cancelled counts for nothing.
func (ch *Channel) judge(ctx context.Context, tok breaker.Token, err error) {
	if err == nil {
		tok.Done(ctx, nil)
		return
	}
	code := codeOf(err)
	switch {
	case code == codes.Canceled && ctx.Err() != nil:
		tok.Done(ctx, context.Canceled)
	case ch.failure.has(code):
		tok.Done(ctx, err)
	default:
		tok.Done(ctx, nil)
	}
}

// retry decides whether attempt n's error is retried, and waits for the
// backoff if so. The throttle is charged for every retryable failure,
// the last attempt's included, as gRFC A6 (and grpc-go) do.
func (ch *Channel) retry(ctx context.Context, err error, n int) bool {
	rp := &ch.cfg.Retry
	if errors.Is(err, breaker.ErrOpen) || !ch.retryable.has(codeOf(err)) {
		return false
	}
	allowed := ch.throttle.failure()
	if n >= rp.MaxAttempts || ctx.Err() != nil {
		return false
	}
	if !allowed {
		ch.stats.throttled.Add(1)
		return false
	}
	ceiling := float64(rp.InitialBackoff)
	for i := 1; i < n; i++ {
		ceiling *= rp.BackoffMultiplier
	}
	wait := time.Duration(rand.Float64() * min(ceiling, float64(rp.MaxBackoff)))
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
		return false // the deadline would pass during the wait
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
	ch.stats.retries.Add(1)
	return true
}

// acquiredOpt marks the streams Channel.NewStream counted in flight, so
// that the interceptor releases only those (grpc-go may make streams of
// its own on a ClientConn).
type acquiredOpt struct{ grpc.EmptyCallOption }

var acquired grpc.CallOption = &acquiredOpt{}

// streamInterceptor is the stream client interceptor of conn c.
func (ch *Channel) streamInterceptor(c *conn) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		// acquired is a no-op for grpc-go; it stays in opts.
		counted := slices.Contains(opts, acquired)
		release := func() {
			if counted {
				ch.release(c)
			}
		}
		listened := ch.listened()
		var start time.Time
		if listened {
			start = time.Now()
		}
		tok, err := ch.allow(method)
		if err != nil {
			release()
			ch.stats.record(codes.Unavailable)
			return nil, err
		}
		s, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			ch.judge(ctx, tok, err)
			release()
			ch.stats.record(codeOf(err))
			if listened {
				ch.publish(method, start, err)
			}
			return nil, err
		}
		ch.stats.streams.Add(1)
		ts := &trackedStream{ClientStream: s, ch: ch, release: release, tok: tok, ctx: ctx,
			method: method, start: start, listened: listened, serverStreams: desc.ServerStreams,
			settled: make(chan struct{})}
		// The callback may run before AfterFunc returns (ctx already
		// done), so it must not touch ts.stop: finish does not.
		ts.stop = context.AfterFunc(ctx, func() { ts.finish(ctx.Err()) })
		return ts, nil
	}
}

// trackedStream ends a stream's breaker call, in-flight count and telemetry
// once: when a receive returns an error (io.EOF is success), after the one
// reply of a client stream, or when the caller's context ends.
type trackedStream struct {
	grpc.ClientStream
	ch            *Channel
	release       func()
	tok           breaker.Token
	ctx           context.Context
	method        string
	start         time.Time
	listened      bool
	serverStreams bool
	stop          func() bool
	done          atomic.Bool
	// settled is closed once finish has settled the stream.
	settled chan struct{}
}

func (s *trackedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err != nil:
		s.end(err)
	case !s.serverStreams:
		s.end(nil) // a client stream's only reply: grpc-go has finished it
	}
	return err
}

// end is the stream's end seen by a receive, on the caller's goroutine
// (after the interceptor returned, so s.stop is set). When the context's
// callback got there first, end waits for it to finish settling, so that
// a caller who has seen the stream end sees its breaker outcome, in-flight
// count and stats settled too.
func (s *trackedStream) end(err error) {
	if s.finish(err) {
		s.stop()
		return
	}
	<-s.settled
}

// finish settles the stream once and reports whether this call did it.
func (s *trackedStream) finish(err error) bool {
	if !s.done.CompareAndSwap(false, true) {
		return false
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	s.ch.judge(s.ctx, s.tok, err)
	s.release()
	s.ch.stats.record(codeOf(err))
	if s.listened {
		s.ch.publish(s.method, s.start, err)
	}
	close(s.settled)
	return true
}

// codeOf is err's gRPC code; context errors map as grpc-go maps them.
func codeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Unknown
}

// listened reports whether per-call events are published: a field read,
// not the event stream's lock per call.
func (ch *Channel) listened() bool {
	return ch.cfg.RequestEvents && ch.cfg.Events != nil
}

func (ch *Channel) publish(method string, start time.Time, err error) {
	ev := &event.AdapterRequest{Protocol: "grpc", Pool: ch.cfg.Name, Endpoint: ch.endpoint(), Method: method,
		Status: int(codeOf(err)), Duration: time.Since(start), At: start}
	if err != nil {
		ev.Err = err.Error()
	}
	ch.cfg.Events.Publish(ev)
}

func (ch *Channel) endpoint() string {
	if ch.cfg.Target != "" {
		return ch.cfg.Target
	}
	return ch.cfg.Endpoints[0]
}

// throttle is gRFC A6's retry token bucket, in thousandths of a token
// (A6 gives token_ratio three decimals), shared by all of a channel's
// calls.
type throttle struct {
	tokens atomic.Int64
	max    int64
	ratio  int64
}

func (t *throttle) init(maxTokens, ratio float64) {
	t.max = int64(maxTokens * 1000)
	t.ratio = max(int64(ratio*1000), 1)
	t.tokens.Store(t.max)
}

// failure takes a token and reports whether retries are still allowed
// (more than half the bucket left).
func (t *throttle) failure() bool {
	for {
		v := t.tokens.Load()
		n := max(v-1000, 0)
		if t.tokens.CompareAndSwap(v, n) {
			return n > t.max/2
		}
	}
}

// success gives back ratio; a full bucket costs one load.
func (t *throttle) success() {
	for {
		v := t.tokens.Load()
		if v >= t.max {
			return
		}
		if t.tokens.CompareAndSwap(v, min(v+t.ratio, t.max)) {
			return
		}
	}
}

func (t *throttle) value() float64 { return float64(t.tokens.Load()) / 1000 }
