package s1

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// Pool is one HTTP operational unit: the pool actor "s1/pool/<name>", the
// *httppool.Client it owns (transport, slots, balancer) and the breaker
// guarding it. Requests go straight to the client, with no mailbox hop;
// the size is the actor's alone to change (System 3 sends it
// *httppool.ResizePool), so the handle only reads it.
type Pool struct {
	c  *httppool.Client
	s1 *S1
}

// Name is the pool's name.
func (p *Pool) Name() string { return p.c.Name() }

// Client is the pool's HTTP client: requests, stats and configuration.
func (p *Pool) Client() *httppool.Client { return p.c }

// Stats returns the pool's figures, read from its handle (no mailbox hop).
func (p *Pool) Stats() httppool.Stats { return p.c.Stats() }

// PID is the pool actor's PID, for actors that send it *httppool.DoRequest;
// false while its supervisor restarts it or after it gave up on it.
func (p *Pool) PID() (*actor.PID, bool) { return p.s1.lookup(PoolPrefix + p.Name()) }

// Do sends req through this pool (req.Pool is ignored).
func (p *Pool) Do(ctx context.Context, req httppool.Request) (*httppool.Response, error) {
	return p.c.Do(ctx, req)
}

// StartPools starts one unit per configured pool, in name order, each
// guarded by its circuit_breaker (which StartBreakers must have added):
// HTTP, WebSocket (conns.go) or gRPC. The config's validation refused
// every protocol without an adapter. Consecutive HTTP pools start as one
// batch (supervisor.StartAll: concurrently, one request, one copy of the
// lookup map), which is what lets a node of 1,000 pools start in
// milliseconds.
func (s *S1) StartPools(ctx context.Context, cfg map[string]config.Pool) error {
	var httpBatch []httppool.Config
	for _, name := range sortedKeys(cfg) {
		p := cfg[name]
		if p.Protocol == config.ProtocolWebSocket || p.Protocol == config.ProtocolGRPC {
			// Keep the name order: the HTTP pools before this one first.
			if err := s.addPools(ctx, httpBatch); err != nil {
				return err
			}
			httpBatch = httpBatch[:0]
		}
		switch p.Protocol {
		case config.ProtocolWebSocket:
			if err := s.startWebSocket(ctx, name, p); err != nil {
				return err
			}
			continue
		case config.ProtocolGRPC:
			if err := s.startGRPC(ctx, name, p); err != nil {
				return err
			}
			continue
		}
		hc, err := httppool.FromConfig(name, p)
		if err != nil {
			return fmt.Errorf("pools.%s: %w", name, err)
		}
		if p.CircuitBreaker != "" {
			b, ok := s.Breaker(p.CircuitBreaker)
			if !ok {
				return fmt.Errorf("pools.%s.circuit_breaker: %w: %q", name, httppool.ErrNoBreaker, p.CircuitBreaker)
			}
			hc.Breaker = b
		}
		httpBatch = append(httpBatch, hc)
	}
	return s.addPools(ctx, httpBatch)
}

// AddPool makes an HTTP pool from cfg and supervises its actor as
// "s1/pool/<name>". Unset Breakers, Retry and Events fields get S1's
// (every breaker by name, the fault_tolerance defaults, the node's event
// stream).
func (s *S1) AddPool(ctx context.Context, cfg httppool.Config) (*Pool, error) {
	return addUnit(ctx, s, cfg.Name, func() (*Pool, supervisor.ChildSpec, error) {
		return s.openPool(cfg)
	}, func(p *Pool) { _ = p.c.Close() }, s.keepPool)
}

// openPool makes the client of an HTTP pool (AddPool's defaults filled
// in) and the spec of its actor.
func (s *S1) openPool(cfg httppool.Config) (*Pool, supervisor.ChildSpec, error) {
	if cfg.Breakers == nil {
		cfg.Breakers = s.Breaker
	}
	if cfg.Retry == nil {
		cfg.Retry = s.env.Retry
	}
	if cfg.Events == nil {
		cfg.Events = s.env.Events // per-attempt events only with cfg.RequestEvents
	}
	c, err := httppool.New(cfg)
	if err != nil {
		return nil, supervisor.ChildSpec{}, err
	}
	return &Pool{c: c, s1: s}, supervisor.ChildSpec{Name: PoolPrefix + cfg.Name, Props: httppool.Props(c, httppool.Env{Events: s.env.Events})}, nil
}

// addPools is AddPool for several pools in one batch: on error the pools
// started before the failing one stay, the others are closed.
func (s *S1) addPools(ctx context.Context, cfgs []httppool.Config) error {
	if len(cfgs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pools := make([]*Pool, 0, len(cfgs))
	names := make([]string, 0, len(cfgs))
	specs := make([]supervisor.ChildSpec, 0, len(cfgs))
	closeFrom := func(i int) {
		for _, p := range pools[i:] {
			_ = p.c.Close()
		}
	}
	for _, cfg := range cfgs {
		if s.taken(cfg.Name) { // cfgs come from a map: no duplicates among them
			closeFrom(0)
			return fmt.Errorf("s1: pool %q: %w", cfg.Name, ErrExists)
		}
		p, spec, err := s.openPool(cfg)
		if err != nil {
			closeFrom(0)
			return err
		}
		pools, names, specs = append(pools, p), append(names, cfg.Name), append(specs, spec)
	}
	sup, ok := s.env.Supervisor.Directory.Lookup(Name)
	if !ok {
		closeFrom(0)
		return fmt.Errorf("%w: %s", ErrNotRunning, Name)
	}
	pids, err := supervisor.StartAll(ctx, s.env.Root, sup, presized(specs)...)
	started := min(len(pids), len(pools))
	storeAll(&s.pools, names[:started], pools[:started])
	s.reroute()
	closeFrom(started)
	if err != nil {
		return fmt.Errorf("s1: pools: %w", err)
	}
	return nil
}

// keepPool publishes a started pool and the routing table with it; the
// caller holds s.mu.
func (s *S1) keepPool(p *Pool) {
	store(&s.pools, p.Name(), p)
	s.reroute()
}

// reroute rebuilds the routing table from the pools; the caller holds
// s.mu. The pools are scanned in name order and the first to claim an
// endpoint keeps it, so the table answers as a scan of the sorted pools
// would, with one map read per request instead of a scan.
func (s *S1) reroute() {
	ps := s.pools.Load().sorted
	m := make(map[string]*Pool, len(ps))
	for _, p := range ps {
		for _, ep := range p.c.Config().Endpoints {
			if _, taken := m[ep]; !taken {
				m[ep] = p
			}
		}
	}
	s.routes.Store(&m)
}

// addUnit starts the pool unit name, of any protocol, holding s.mu so that
// names stay unique across protocols: open makes the handle and the spec
// of its actor; keep publishes the handle once the actor runs; a handle
// whose actor does not start is closed.
func addUnit[H any](ctx context.Context, s *S1, name string, open func() (H, supervisor.ChildSpec, error), closeH, keep func(H)) (H, error) {
	var zero H
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken(name) {
		return zero, fmt.Errorf("s1: pool %q: %w", name, ErrExists)
	}
	h, spec, err := open()
	if err != nil {
		return zero, err
	}
	pid, err := s.startChild(ctx, Name, spec)
	if err == nil && spec.Kind == supervisor.KindSupervisor {
		// A pool's own supervisor spawns its connections when it starts:
		// a reply to List comes after that, so they are in the tree on
		// return.
		_, err = supervisor.List(ctx, s.env.Root, pid)
	}
	if err != nil {
		closeH(h)
		return zero, fmt.Errorf("s1: pool %q: %w", name, err)
	}
	keep(h)
	return h, nil
}

// Pool returns the pool called name, with no lock taken.
func (s *S1) Pool(name string) (*Pool, bool) {
	p, ok := s.pools.Load().byName[name]
	return p, ok
}

// Pools returns every pool, sorted by name.
func (s *S1) Pools() []*Pool { return slices.Clone(s.pools.Load().sorted) }

// Route finds the pool for req: the one req.Pool names or, with no pool
// named, the one with the absolute URL's host:port among its endpoints.
// Errors match httppool.ErrNoPool.
func (s *S1) Route(req httppool.Request) (*Pool, error) {
	if req.Pool != "" {
		p, ok := s.Pool(req.Pool)
		if !ok {
			return nil, fmt.Errorf("%w: %q", httppool.ErrNoPool, req.Pool)
		}
		return p, nil
	}
	addr, ok := routeAddr(req.URL)
	if !ok {
		return nil, fmt.Errorf("%w: no pool named and %q is not an absolute URL", httppool.ErrNoPool, req.URL)
	}
	if p, ok := (*s.routes.Load())[addr]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w: none has the endpoint %s", httppool.ErrNoPool, addr)
}

// routeAddr is the host:port of an absolute URL, the scheme's port filled
// in, and false when raw is not absolute. The common form
// (scheme://host:port/path) is read without url.Parse, which would
// allocate on every request; anything unusual (user info, IPv6 literals,
// escapes, no port) goes through url.Parse, so both agree.
func routeAddr(raw string) (string, bool) {
	if addr, ok := plainHostPort(raw); ok {
		return addr, true
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), true
}

// plainHostPort reads "http(s)://host:port" followed by nothing or by a
// path, query or fragment, with host made of letters, digits, '.', '-'
// and '_' and port of digits; false for any other form.
func plainHostPort(raw string) (string, bool) {
	var rest string
	switch {
	case hasPrefixFold(raw, "http://"):
		rest = raw[len("http://"):]
	case hasPrefixFold(raw, "https://"):
		rest = raw[len("https://"):]
	default:
		return "", false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	hp := rest[:end]
	colon := strings.LastIndexByte(hp, ':')
	if colon <= 0 || colon == len(hp)-1 {
		return "", false
	}
	for i := 0; i < len(hp); i++ {
		ch := hp[i]
		switch {
		case i == colon:
		case i > colon && ch >= '0' && ch <= '9':
		case i < colon && (ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-' || ch == '_'):
		default:
			return "", false
		}
	}
	return hp, true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// Request routes req (see Route) and sends it through the pool's client.
func (s *S1) Request(ctx context.Context, req httppool.Request) (*httppool.Response, error) {
	p, err := s.Route(req)
	if err != nil {
		return nil, err
	}
	return p.c.Do(ctx, req)
}
