package grpcpool

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	_ "google.golang.org/grpc/balancer/leastrequest" // registers least_request_experimental
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/viable-systems/vsm-connections/internal/deadline"
)

// Channel is one gRPC channel: a small set of grpc-go ClientConns to one
// service, used as a single grpc.ClientConnInterface, so generated stubs
// take it unchanged (pb.NewUserServiceClient(ch)). Its methods are safe for
// concurrent use.
//
// It starts with one ClientConn. Only its actor (Props) changes the set:
// it opens another when the streams in flight reach Config.ScaleUpRatio
// of the stream limit the server advertised, and closes extras that
// stayed idle; without an actor the channel keeps its one ClientConn.
type Channel struct {
	cfg       Config
	failure   codeSet
	retryable codeSet
	// callTimeout is the breaker's CallTimeout, read once: it bounds each
	// unary attempt.
	callTimeout time.Duration
	creds       credentials.TransportCredentials
	// deadline is the default deadline of unary calls; nil without one.
	deadline *deadline.Shared
	sc       string

	// conns is the published set; nil once closed. Only the actor (through
	// addConn and removeConn) and Close replace it.
	conns atomic.Pointer[[]*conn]
	// scaling is set by the one call that asked the actor for another
	// conn, and cleared by the actor once it has answered.
	scaling atomic.Bool
	// notify is the actor's scale-up listener; nil while no actor runs.
	notify atomic.Pointer[func()]

	throttle throttle
	stats    counters

	mu     sync.Mutex // serialises changes of conns
	nextID int
	// retired are conns removed from the set that may still carry calls;
	// Close closes them too. Guarded by mu.
	retired []*conn
}

// conn is one ClientConn and the figures the channel keeps about it.
type conn struct {
	id       int
	cc       *grpc.ClientConn
	inflight atomic.Int64
	calls    atomic.Uint64
	// capacity is the sum of the stream limits of its live transports
	// (0 until the first SETTINGS frame); pending counts transports that
	// have not sent one yet, transports those alive.
	capacity   atomic.Int64
	pending    atomic.Int32
	transports atomic.Int32
	draining   atomic.Bool
	closed     atomic.Bool
	opened     time.Time

	// Owned by the actor's idle check.
	lastCalls  uint64
	lastActive time.Time
}

func (c *conn) transportUp(*transportLimit) {
	c.transports.Add(1)
	c.pending.Add(1)
}

func (c *conn) close() {
	if c.closed.CompareAndSwap(false, true) {
		_ = c.cc.Close()
	}
}

// New returns a channel with one ClientConn, which starts connecting at
// once (calls made before it is ready wait for it, or fail fast with
// Unavailable once a connection attempt has failed, as in grpc-go).
func New(cfg Config) (*Channel, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ch := &Channel{
		cfg:       cfg,
		failure:   newCodeSet(cfg.FailureCodes),
		retryable: newCodeSet(cfg.Retry.RetryableCodes),
	}
	if cfg.Breaker != nil {
		ch.callTimeout = cfg.Breaker.Settings().CallTimeout
	}
	if cfg.Timeout > 0 {
		// One deadline context per Timeout/64 (at most 100ms): at the 5s
		// default a call's deadline is up to 78ms early, and no call pays
		// a timer context of its own (7-8 allocations).
		ch.deadline = deadline.NewShared(cfg.Timeout, min(cfg.Timeout/64, 100*time.Millisecond))
	}
	ch.throttle.init(cfg.Retry.MaxTokens, cfg.Retry.TokenRatio)
	if cfg.TLS != nil {
		ch.creds = credentials.NewTLS(cfg.TLS)
	} else {
		ch.creds = insecure.NewCredentials()
	}
	ch.sc = cfg.ServiceConfig
	if ch.sc == "" {
		ch.sc = fmt.Sprintf(`{"loadBalancingConfig":[{%q:{}}]}`, cfg.Balancing)
	}
	c, err := ch.dial()
	if err != nil {
		return nil, err
	}
	ch.conns.Store(&[]*conn{c})
	return ch, nil
}

// dial makes one ClientConn and starts connecting it.
func (ch *Channel) dial() (*conn, error) {
	ch.mu.Lock()
	ch.nextID++
	c := &conn{id: ch.nextID, opened: time.Now()}
	ch.mu.Unlock()
	c.lastActive = c.opened
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(&watchingCreds{TransportCredentials: ch.creds, c: c, cap: ch.cfg.MaxConcurrentStreams}),
		// One retry layer: ours, where the breaker sees every attempt.
		grpc.WithDisableRetry(),
		grpc.WithDefaultServiceConfig(ch.sc),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay: ch.cfg.ReconnectBase, Multiplier: backoff.DefaultConfig.Multiplier,
				Jitter: backoff.DefaultConfig.Jitter, MaxDelay: ch.cfg.ReconnectMax,
			},
			MinConnectTimeout: ch.cfg.ConnectTimeout,
		}),
		grpc.WithChainUnaryInterceptor(ch.unary),
		grpc.WithChainStreamInterceptor(ch.streamInterceptor(c)),
	}
	target := ch.cfg.Target
	if target == "" {
		// A resolver of its own per ClientConn: the endpoints are static,
		// and grpc-go's balancer (pick_first, round_robin, least_request)
		// spreads the calls over them.
		r := manual.NewBuilderWithScheme("vsm")
		eps := make([]resolver.Endpoint, len(ch.cfg.Endpoints))
		for i, ep := range ch.cfg.Endpoints {
			eps[i] = resolver.Endpoint{Addresses: []resolver.Address{{Addr: ep}}}
		}
		r.InitialState(resolver.State{Endpoints: eps})
		opts = append(opts, grpc.WithResolvers(r))
		if ch.cfg.TLS == nil {
			// With TLS grpc-go takes the authority from the server name.
			opts = append(opts, grpc.WithAuthority(ch.cfg.Endpoints[0]))
		}
		target = "vsm:///" + ch.cfg.Endpoints[0]
	}
	cc, err := grpc.NewClient(target, append(opts, ch.cfg.DialOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("grpcpool: channel %s: %w", ch.cfg.Name, err)
	}
	c.cc = cc
	cc.Connect()
	return c, nil
}

// Name is the channel's name.
func (ch *Channel) Name() string { return ch.cfg.Name }

// Config is the channel's configuration with defaults filled in.
func (ch *Channel) Config() Config { return ch.cfg }

// Invoke makes a unary call (grpc.ClientConnInterface): through the
// channel's interceptors (default deadline, retry, breaker, telemetry) on
// the ClientConn picked for it.
func (ch *Channel) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c, err := ch.acquire()
	if err != nil {
		return err
	}
	defer ch.release(c)
	return c.cc.Invoke(ctx, method, args, reply, opts...)
}

// NewStream opens a stream (grpc.ClientConnInterface): server, client or
// bidirectional streams pass through grpc-go unchanged; the breaker counts
// each stream once, by the status it ends with. The stream holds its
// ClientConn's in-flight count until it ends (a receive returns an error
// or io.EOF) or ctx ends: cancel ctx when abandoning a stream, as grpc-go
// requires anyway.
func (ch *Channel) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	c, err := ch.acquire()
	if err != nil {
		return nil, err
	}
	// The stream interceptor of c's ClientConn releases c when the stream
	// ends; if the stream was never made, it has already done so.
	return c.cc.NewStream(ctx, desc, method, append(opts[:len(opts):len(opts)], acquired)...)
}

var _ grpc.ClientConnInterface = (*Channel)(nil)

// acquire picks the conn for one call and counts it in flight there.
func (ch *Channel) acquire() (*conn, error) {
	for {
		p := ch.conns.Load()
		if p == nil {
			return nil, withCode(codes.Canceled, fmt.Errorf("%w: %s", ErrClosed, ch.cfg.Name))
		}
		cs := *p
		c := pick(cs)
		c.inflight.Add(1)
		// A conn being removed is skipped. The actor marks it draining
		// before it looks at its in-flight count, and this call counted
		// itself before looking at draining, so either this call sees the
		// mark or the actor sees the call and leaves the conn to close
		// when its last call ends.
		if c.draining.Load() {
			ch.release(c)
			continue
		}
		c.calls.Add(1)
		ch.maybeScale(cs)
		return c, nil
	}
}

func (ch *Channel) release(c *conn) {
	if c.inflight.Add(-1) == 0 && c.draining.Load() {
		c.close()
	}
}

// pick packs calls onto the oldest conns: the first with room below its
// stream limit (or whose limit is not known yet: it is connecting and
// grpc-go will hold the call until it is ready), else the least loaded.
// Packing lets extras fall idle, and be closed, when the load drops.
func pick(cs []*conn) *conn {
	if len(cs) == 1 {
		return cs[0]
	}
	best, bestLoad := cs[0], 2.0
	for _, c := range cs {
		limit, n := c.capacity.Load(), c.inflight.Load()
		if limit <= 0 || n < limit {
			return c
		}
		if load := float64(n) / float64(limit); load < bestLoad {
			best, bestLoad = c, load
		}
	}
	return best
}

// maybeScale asks the actor for another conn when the calls in flight
// reach ScaleUpRatio of the known capacity. Only one request is
// outstanding at a time, and none while a conn still awaits the server's
// SETTINGS (its capacity is unknown; the conn opened last time is such).
func (ch *Channel) maybeScale(cs []*conn) {
	if len(cs) >= ch.cfg.MaxConns || ch.scaling.Load() {
		return
	}
	var n, limit int64
	for _, c := range cs {
		l := c.capacity.Load()
		if l <= 0 || c.pending.Load() > 0 {
			return
		}
		n += c.inflight.Load()
		limit += l
	}
	if limit >= unlimited || float64(n) < ch.cfg.ScaleUpRatio*float64(limit) {
		return
	}
	f := ch.notify.Load()
	if f != nil && ch.scaling.CompareAndSwap(false, true) {
		(*f)()
	}
}

// addConn opens one more conn (the actor's scale-up) unless the channel is
// full, and returns the count.
func (ch *Channel) addConn() (added bool, n int, err error) {
	defer ch.scaling.Store(false)
	p := ch.conns.Load()
	if p == nil {
		return false, 0, ErrClosed
	}
	if len(*p) >= ch.cfg.MaxConns {
		return false, len(*p), nil
	}
	c, err := ch.dial()
	if err != nil {
		return false, len(*p), err
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	p = ch.conns.Load()
	if p == nil {
		c.close()
		return false, 0, ErrClosed
	}
	next := append(slices.Clone(*p), c)
	ch.conns.Store(&next)
	return true, len(next), nil
}

// removeConn takes c out of the set and closes it once its last call
// ends (at once when idle). The last conn is never removed.
func (ch *Channel) removeConn(c *conn) bool {
	ch.mu.Lock()
	p := ch.conns.Load()
	if p == nil || len(*p) <= 1 {
		ch.mu.Unlock()
		return false
	}
	i := slices.Index(*p, c)
	if i < 0 {
		ch.mu.Unlock()
		return false
	}
	next := slices.Delete(slices.Clone(*p), i, i+1)
	ch.conns.Store(&next)
	ch.retired = append(slices.DeleteFunc(ch.retired, func(r *conn) bool { return r.closed.Load() }), c)
	ch.mu.Unlock()
	c.draining.Store(true)
	if c.inflight.Load() == 0 {
		c.close()
	}
	return true
}

// Close closes every ClientConn; calls in flight fail with Canceled, later
// ones with ErrClosed. It is idempotent.
func (ch *Channel) Close() error {
	ch.mu.Lock()
	p := ch.conns.Swap(nil)
	retired := ch.retired
	ch.retired = nil
	ch.mu.Unlock()
	if p == nil {
		return nil
	}
	// Retired conns whose calls never ended (a stream nobody read to its
	// end or cancelled) are closed too.
	for _, c := range append(*p, retired...) {
		c.draining.Store(true)
		c.close()
	}
	return nil
}

// reduce closes every conn but the first (the actor does it when it stops
// for good: nobody would close idle extras after it).
func (ch *Channel) reduce() {
	for {
		p := ch.conns.Load()
		if p == nil || len(*p) <= 1 {
			return
		}
		ch.removeConn((*p)[len(*p)-1])
	}
}
