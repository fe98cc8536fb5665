package s1

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/grpc/codes"

	"github.com/viable-systems/vsm-connections/actors/grpcpool"
	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/actors/ws"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// The WebSocket and gRPC units. A WebSocket pool is a supervisor,
// "s1/pool/<name>", with one worker per connection ("conn/<i>"), so that
// a connection's failure restarts it alone and the pool's intensity
// bounds them together; the *ws.Pool handle keeps the queues,
// subscriptions and counters outside the actors. A gRPC pool is one
// worker, "s1/pool/<name>", the channel actor owning the set of
// ClientConns; the *grpcpool.Channel it is given keeps the conns, stats
// and retry tokens. S1 owns both handles and closes them in Close, once
// the actors have stopped.

// startWebSocket builds and supervises the WebSocket pool name from p.
func (s *S1) startWebSocket(ctx context.Context, name string, p config.Pool) error {
	cfg, err := WebSocketConfig(name, p)
	if err != nil {
		return fmt.Errorf("pools.%s: %w", name, err)
	}
	var env ws.Env
	if p.CircuitBreaker != "" {
		b, ok := s.Breaker(p.CircuitBreaker)
		if !ok {
			return fmt.Errorf("pools.%s.circuit_breaker: %w: %q", name, httppool.ErrNoBreaker, p.CircuitBreaker)
		}
		env.Breaker = b
	}
	if s.env.TuneWebSocket != nil {
		s.env.TuneWebSocket(name, &cfg.Conn)
	}
	_, err = s.AddWebSocketPool(ctx, cfg, env)
	return err
}

// WebSocketConfig maps a pools.<name> entry with protocol websocket (with
// its defaults filled in) to a pool config: every endpoint becomes
// <scheme>://<endpoint><path>, in failover order, and each key its
// ws.Config field. dial_timeout is the dial's bound, handshake included.
func WebSocketConfig(name string, p config.Pool) (ws.PoolConfig, error) {
	if p.Protocol != config.ProtocolWebSocket {
		return ws.PoolConfig{}, fmt.Errorf("%w: pool %s: protocol %q is not websocket", ws.ErrConfig, name, p.Protocol)
	}
	policy, err := ws.ParsePolicy(p.WhileDisconnected)
	if err != nil {
		return ws.PoolConfig{}, err
	}
	eps := p.Endpoints
	if len(eps) == 0 {
		eps = []string{net.JoinHostPort(p.Host, strconv.Itoa(p.Port))}
	}
	path := p.Path
	if path == "" {
		path = "/"
	}
	urls := make([]string, len(eps))
	for i, ep := range eps {
		urls[i] = p.Scheme + "://" + ep + path
	}
	var hdr http.Header
	if len(p.Headers) > 0 {
		hdr = http.Header{}
		for k, v := range p.Headers {
			hdr.Set(k, v)
		}
	}
	return ws.PoolConfig{
		Name: name,
		Size: p.Size,
		Conn: ws.Config{
			Endpoints:         urls,
			Header:            hdr,
			TLS:               ws.TLS{CAFile: p.TLS.CAFile, CertFile: p.TLS.CertFile, KeyFile: p.TLS.KeyFile, ServerName: p.TLS.ServerName},
			HeartbeatInterval: p.HeartbeatInterval.D(),
			HeartbeatGrace:    p.HeartbeatGrace.D(),
			BackoffInitial:    p.BackoffInitial.D(),
			BackoffMax:        p.BackoffMax.D(),
			DialTimeout:       p.DialTimeout.D(),
			WriteTimeout:      p.WriteTimeout.D(),
			CloseTimeout:      p.CloseTimeout.D(),
			WhileDisconnected: policy,
			QueueSize:         p.QueueSize,
			WriterOnly:        p.WriterOnly,
			QueueTimeout:      p.QueueTimeout.D(),
			MaxMessageSize:    p.MaxMessageSize,
		},
	}, nil
}

// AddWebSocketPool makes a WebSocket pool from cfg and supervises it as
// "s1/pool/<name>" with its connections below ("s1/pool/<name>/conn/<i>",
// which is also each connection's name in events, alerts and stats).
// Unset env fields get S1's: the node's event stream, algedonic channel
// and logger. cfg.Path and cfg.Supervisor are S1's to set: the pool's
// supervisor has the node's restart intensity.
func (s *S1) AddWebSocketPool(ctx context.Context, cfg ws.PoolConfig, env ws.Env) (*ws.Pool, error) {
	if env.Events == nil {
		env.Events = s.env.Events
	}
	if env.Alerts == nil {
		env.Alerts = s.env.Alerts
	}
	if env.Logger == nil {
		env.Logger = s.env.Supervisor.Logger
	}
	name := cfg.Name
	path := Name + "/" + PoolPrefix + name
	cfg.Path = path
	return addUnit(ctx, s, name, func() (*ws.Pool, supervisor.ChildSpec, error) {
		p, err := ws.NewPool(cfg, env)
		if err != nil {
			return nil, supervisor.ChildSpec{}, err
		}
		return p, supervisor.ChildSpec{
			Name:  PoolPrefix + name,
			Kind:  supervisor.KindSupervisor,
			Props: supervisor.Props(path, s.env.Supervision, s.env.Supervisor, presized(p.ChildSpecs())...),
		}, nil
	}, func(p *ws.Pool) { _ = p.Close(context.WithoutCancel(ctx)) }, func(p *ws.Pool) { store(&s.wsPools, name, p) })
}

// WebSocket returns the WebSocket pool called name, with no lock taken.
func (s *S1) WebSocket(name string) (*ws.Pool, bool) {
	p, ok := s.wsPools.Load().byName[name]
	return p, ok
}

// WebSockets returns every WebSocket pool, sorted by name.
func (s *S1) WebSockets() []*ws.Pool { return slices.Clone(s.wsPools.Load().sorted) }

// startGRPC builds and supervises the gRPC pool name from p.
func (s *S1) startGRPC(ctx context.Context, name string, p config.Pool) error {
	cfg, err := GRPCConfig(name, p)
	if err != nil {
		return fmt.Errorf("pools.%s: %w", name, err)
	}
	if p.CircuitBreaker != "" {
		b, ok := s.Breaker(p.CircuitBreaker)
		if !ok {
			return fmt.Errorf("pools.%s.circuit_breaker: %w: %q", name, httppool.ErrNoBreaker, p.CircuitBreaker)
		}
		cfg.Breaker = b
	}
	if s.env.TuneGRPC != nil {
		s.env.TuneGRPC(name, &cfg)
	}
	_, err = s.AddGRPCPool(ctx, cfg)
	return err
}

// GRPCConfig maps a pools.<name> entry with protocol grpc (with its
// defaults filled in) to a channel config: grpcpool.FromConfig's keys
// (endpoints, load_balancing, timeout, dial_timeout, idle_timeout, tls)
// and max_conns, max_concurrent_streams, retry and failure_codes, whose
// defaults (WithDefaults) come from fault_tolerance where they map.
func GRPCConfig(name string, p config.Pool) (grpcpool.Config, error) {
	cfg, err := grpcpool.FromConfig(name, p)
	if err != nil {
		return grpcpool.Config{}, err
	}
	cfg.MaxConns = p.MaxConns
	cfg.RequestEvents = p.RequestEvents
	cfg.MaxConcurrentStreams = uint32(min(max(p.MaxConcurrentStreams, 0), 1<<32-1))
	if cfg.FailureCodes, err = grpcCodes(p.FailureCodes); err != nil {
		return grpcpool.Config{}, fmt.Errorf("failure_codes: %w", err)
	}
	r := p.Retry
	cfg.Retry = grpcpool.RetryPolicy{
		MaxAttempts:    r.MaxAttempts,
		InitialBackoff: r.InitialBackoff.D(),
		MaxBackoff:     r.MaxBackoff.D(),
	}
	if cfg.Retry.RetryableCodes, err = grpcCodes(r.Codes); err != nil {
		return grpcpool.Config{}, fmt.Errorf("retry.codes: %w", err)
	}
	return cfg, nil
}

// grpcCodes reads code names; none gives nil, the adapter's default.
func grpcCodes(names []string) ([]codes.Code, error) {
	if len(names) == 0 {
		return nil, nil
	}
	out := make([]codes.Code, len(names))
	for i, n := range names {
		c, ok := config.GRPCCode(n)
		if !ok {
			return nil, fmt.Errorf("%w: unknown gRPC status code %q", grpcpool.ErrConfig, n)
		}
		out[i] = codes.Code(c)
	}
	return out, nil
}

// AddGRPCPool makes a gRPC channel from cfg and supervises its actor as
// "s1/pool/<name>". An unset Events gets the node's event stream (per-call
// events only with cfg.RequestEvents, as for HTTP pools).
func (s *S1) AddGRPCPool(ctx context.Context, cfg grpcpool.Config) (*grpcpool.Channel, error) {
	if cfg.Events == nil {
		cfg.Events = s.env.Events
	}
	name := cfg.Name
	return addUnit(ctx, s, name, func() (*grpcpool.Channel, supervisor.ChildSpec, error) {
		ch, err := grpcpool.New(cfg)
		if err != nil {
			return nil, supervisor.ChildSpec{}, err
		}
		return ch, supervisor.ChildSpec{Name: PoolPrefix + name, Props: grpcpool.Props(ch, grpcpool.Env{Events: s.env.Events})}, nil
	}, func(ch *grpcpool.Channel) { _ = ch.Close() }, func(ch *grpcpool.Channel) { store(&s.grpcPools, name, ch) })
}

// GRPC returns the gRPC pool called name, with no lock taken. The channel
// is a grpc.ClientConnInterface: generated stubs take it unchanged.
func (s *S1) GRPC(name string) (*grpcpool.Channel, bool) {
	ch, ok := s.grpcPools.Load().byName[name]
	return ch, ok
}

// GRPCs returns every gRPC pool, sorted by name.
func (s *S1) GRPCs() []*grpcpool.Channel { return slices.Clone(s.grpcPools.Load().sorted) }

// PoolPID is the PID of the unit actor of the pool called name, of any
// protocol: the HTTP pool actor, the WebSocket pool's supervisor or the
// gRPC channel actor.
func (s *S1) PoolPID(name string) (*actor.PID, bool) { return s.lookup(PoolPrefix + name) }

// taken reports whether a pool of any protocol is called name; the
// caller holds s.mu. The units share the names "s1/pool/<name>".
func (s *S1) taken(name string) bool {
	_, h := s.pools.Load().byName[name]
	_, w := s.wsPools.Load().byName[name]
	_, g := s.grpcPools.Load().byName[name]
	return h || w || g
}

// Close closes the WebSocket pools (close frames, bounded by ctx) and the
// gRPC channels. The node calls it once S1 has stopped, so that no actor
// redials a closed connection; before that, closed handles refuse work.
// Idempotent.
func (s *S1) Close(ctx context.Context) error {
	var errs []error
	for _, p := range s.WebSockets() {
		if err := p.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("s1: close pool %s: %w", p.Name(), err))
		}
	}
	for _, ch := range s.GRPCs() {
		if err := ch.Close(); err != nil {
			errs = append(errs, fmt.Errorf("s1: close pool %s: %w", ch.Name(), err))
		}
	}
	return errors.Join(errs...)
}
