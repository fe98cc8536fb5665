package vsm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/viable-systems/vsm-connections/actors/httppool"
	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/pool"
	"github.com/viable-systems/vsm-connections/supervisor"
)

// PoolPrefix is the prefix of pool actors' names under S1: the pool "api"
// is the actor "s1/pool/api".
const PoolPrefix = "pool/"

// poolSet is the node's pools, hung off Node by one field.
type poolSet struct {
	retry []fault.Option // fault_tolerance defaults
	quiet int32          // subscribers of the node's own when pools started

	mu sync.Mutex
	m  map[string]*Pool
}

// Pool is the node's handle on one HTTP pool. Its methods are safe for
// concurrent use; requests go straight to the client (no mailbox hop),
// resizes through the pool actor.
type Pool struct {
	n *Node
	c *httppool.Client
}

// startPools starts one S1 unit per configured pool (HTTP: the only
// protocol with an adapter so far), each guarded by its circuit_breaker,
// with the fault_tolerance retry defaults.
func (n *Node) startPools(ctx context.Context) error {
	n.pools = &poolSet{retry: n.RetryOptions(), quiet: n.sys.EventStream.Length(), m: map[string]*Pool{}}
	names := make([]string, 0, len(n.cfg.Pools))
	// config.Validate refused every protocol without an adapter.
	for name := range n.cfg.Pools {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := n.cfg.Pools[name]
		hc, err := httppool.FromConfig(name, p)
		if err != nil {
			return fmt.Errorf("pools.%s: %w", name, err)
		}
		if p.CircuitBreaker != "" {
			b, ok := n.Breaker(p.CircuitBreaker)
			if !ok {
				return fmt.Errorf("pools.%s.circuit_breaker: %w: %q", name, httppool.ErrNoBreaker, p.CircuitBreaker)
			}
			hc.Breaker = b
		}
		if _, err := n.AddPool(ctx, hc); err != nil {
			return err
		}
	}
	return n.registry.Register(poolCollector{n})
}

// AddPool makes an HTTP pool from cfg and supervises its actor under S1 as
// "s1/pool/<name>". Unset Breakers, Retry and Events fields get the node's
// (every breaker by name, the fault_tolerance defaults, its event stream).
// Pools from the config are added at Start.
func (n *Node) AddPool(ctx context.Context, cfg httppool.Config) (*Pool, error) {
	if n.isStopped() {
		return nil, ErrStopped
	}
	if n.pools == nil {
		return nil, ErrNotStarted
	}
	if cfg.Breakers == nil {
		cfg.Breakers = n.Breaker
	}
	if cfg.Retry == nil {
		cfg.Retry = n.pools.retry
	}
	if cfg.Events == nil {
		cfg.Events, cfg.QuietSubscribers = n.sys.EventStream, n.pools.quiet
	}
	name := cfg.Name
	n.pools.mu.Lock()
	_, dup := n.pools.m[name]
	n.pools.mu.Unlock()
	if dup {
		return nil, fmt.Errorf("vsm: pool %q already exists", name)
	}
	c, err := httppool.New(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := n.StartChild(ctx, S1, supervisor.ChildSpec{
		Name:  PoolPrefix + name,
		Props: httppool.Props(c, httppool.Env{Events: n.sys.EventStream}),
	}); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("vsm: pool %q: %w", name, err)
	}
	p := &Pool{n: n, c: c}
	n.pools.mu.Lock()
	n.pools.m[name] = p
	n.pools.mu.Unlock()
	return p, nil
}

// Pool returns the pool called name.
func (n *Node) Pool(name string) (*Pool, bool) {
	if n.pools == nil {
		return nil, false
	}
	n.pools.mu.Lock()
	defer n.pools.mu.Unlock()
	p, ok := n.pools.m[name]
	return p, ok
}

// Pools returns every pool, sorted by name.
func (n *Node) Pools() []*Pool {
	if n.pools == nil {
		return nil
	}
	n.pools.mu.Lock()
	out := make([]*Pool, 0, len(n.pools.m))
	for _, p := range n.pools.m {
		out = append(out, p)
	}
	n.pools.mu.Unlock()
	slices.SortFunc(out, func(a, b *Pool) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// Name is the pool's name.
func (p *Pool) Name() string { return p.c.Name() }

// Client is the pool's HTTP client, for code that holds the pool already.
func (p *Pool) Client() *httppool.Client { return p.c }

// Stats returns the pool's figures, read from its handle (no mailbox hop).
func (p *Pool) Stats() httppool.Stats { return p.c.Stats() }

// PID is the pool actor's PID, for actors that send it *DoRequest.
func (p *Pool) PID() (*actor.PID, bool) { return p.n.dir.Lookup(S1 + "/" + PoolPrefix + p.Name()) }

// Resize resizes the pool through its actor (update_pool), which publishes
// an event.PoolResized, and returns the new stats. Requests in flight are
// not disturbed. A size below 1 fails with an error matching
// pool.ErrInvalidSize.
func (p *Pool) Resize(ctx context.Context, size int) (httppool.Stats, error) {
	if size < 1 {
		return httppool.Stats{}, fmt.Errorf("vsm: pool %s: %w: %d", p.Name(), pool.ErrInvalidSize, size)
	}
	if p.n.isStopped() {
		return httppool.Stats{}, ErrStopped
	}
	pid, ok := p.PID()
	if !ok {
		// Its supervisor gave up on it (or it was stopped by hand).
		return httppool.Stats{}, fmt.Errorf("vsm: pool %s: actor %s%s is not running: %w", p.Name(), S1+"/"+PoolPrefix, p.Name(), ErrNotFound)
	}
	return httppool.Resize(ctx, p.n.sys.Root, pid, size)
}

// Do sends req through this pool (req.Pool is ignored).
func (p *Pool) Do(ctx context.Context, req httppool.Request) (*httppool.Response, error) {
	if p.n.isStopped() {
		return nil, ErrStopped
	}
	return p.c.Do(ctx, req)
}

// Request makes an HTTP call through the pool req.Pool (the seed's
// request(:http, url:, method:, pool:, circuit_breaker:)). With no pool
// named, an absolute URL goes through the pool one of whose endpoints is
// its host:port. See httppool.Client.Do for the path and the errors.
func (n *Node) Request(ctx context.Context, req httppool.Request) (*httppool.Response, error) {
	if n.isStopped() {
		return nil, ErrStopped
	}
	p, err := n.poolFor(req)
	if err != nil {
		return nil, err
	}
	return p.c.Do(ctx, req)
}

func (n *Node) poolFor(req httppool.Request) (*Pool, error) {
	if req.Pool != "" {
		p, ok := n.Pool(req.Pool)
		if !ok {
			return nil, fmt.Errorf("%w: %q", httppool.ErrNoPool, req.Pool)
		}
		return p, nil
	}
	u, err := url.Parse(req.URL)
	if err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("%w: no pool named and %q is not an absolute URL", httppool.ErrNoPool, req.URL)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	for _, p := range n.Pools() {
		if p.c.HasEndpoint(addr) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w: none has the endpoint %s", httppool.ErrNoPool, addr)
}

// Get is Request with GET.
func (n *Node) Get(ctx context.Context, pool, path string) (*httppool.Response, error) {
	return n.Request(ctx, httppool.Request{Method: http.MethodGet, URL: path, Pool: pool})
}

// Post sends v as JSON (Content-Type application/json) with POST. POST is
// not retried unless asked: use Request with Retry for that.
func (n *Node) Post(ctx context.Context, pool, path string, v any) (*httppool.Response, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("vsm: post %s: encode body: %w", path, err)
	}
	return n.Request(ctx, httppool.Request{
		Method: http.MethodPost, URL: path, Pool: pool, Body: buf.Bytes(),
		Header: http.Header{"Content-Type": {"application/json"}},
	})
}

// poolCollector exports every pool's stats at scrape time, so requests pay
// nothing for Prometheus.
type poolCollector struct{ n *Node }

var (
	poolGaugeDesc = prometheus.NewDesc("vsm_pool_slots",
		"Pool slots (one request in flight each), by state: size, in_use, idle, waiting (queued checkouts).",
		[]string{"pool", "state"}, nil)
	poolCheckoutsDesc = prometheus.NewDesc("vsm_pool_checkouts_total",
		"Successful pool checkouts.", []string{"pool"}, nil)
	poolTimeoutsDesc = prometheus.NewDesc("vsm_pool_checkout_timeouts_total",
		"Pool checkouts that gave up waiting for a free slot.", []string{"pool"}, nil)
	poolWaitDesc = prometheus.NewDesc("vsm_pool_checkout_wait_seconds",
		"Time spent waiting for a pool slot.", []string{"pool"}, nil)
	poolConnsDesc = prometheus.NewDesc("vsm_pool_connections_total",
		"TCP connections opened and closed by a pool's transport.", []string{"pool", "event"}, nil)
	httpRequestsDesc = prometheus.NewDesc("vsm_http_requests_total",
		"HTTP exchanges (attempts) by pool and status class (1xx..5xx, or error for no usable reply).",
		[]string{"pool", "class"}, nil)
	httpDurationDesc = prometheus.NewDesc("vsm_http_request_duration_seconds",
		"Duration of HTTP exchanges, from send to the end of the body.", []string{"pool"}, nil)
	endpointEjectedDesc = prometheus.NewDesc("vsm_pool_endpoint_ejected",
		"1 while outlier detection keeps the endpoint out of rotation.", []string{"pool", "endpoint"}, nil)
)

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolGaugeDesc, poolCheckoutsDesc, poolTimeoutsDesc, poolWaitDesc,
		poolConnsDesc, httpRequestsDesc, httpDurationDesc, endpointEjectedDesc} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.n.Pools() {
		st := p.Stats()
		name := st.Name
		gauge := func(state string, v int) {
			ch <- prometheus.MustNewConstMetric(poolGaugeDesc, prometheus.GaugeValue, float64(v), name, state)
		}
		gauge("size", st.Size)
		gauge("in_use", st.InUse)
		gauge("idle", st.Idle)
		gauge("waiting", st.Waiting)
		ch <- prometheus.MustNewConstMetric(poolCheckoutsDesc, prometheus.CounterValue, float64(st.Checkouts), name)
		ch <- prometheus.MustNewConstMetric(poolTimeoutsDesc, prometheus.CounterValue, float64(st.Timeouts), name)
		ch <- constHistogram(poolWaitDesc, st.Wait, name)
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.CounterValue, float64(st.ConnsOpened), name, "opened")
		ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.CounterValue, float64(st.ConnsClosed), name, "closed")
		r := st.Requests
		for _, kv := range []struct {
			class string
			v     uint64
		}{{"1xx", r.Informational}, {"2xx", r.Success}, {"3xx", r.Redirect}, {"4xx", r.ClientError}, {"5xx", r.ServerError}, {"error", r.Errors}} {
			ch <- prometheus.MustNewConstMetric(httpRequestsDesc, prometheus.CounterValue, float64(kv.v), name, kv.class)
		}
		ch <- constHistogram(httpDurationDesc, st.Duration, name)
		for _, e := range st.Endpoints {
			v := 0.0
			if e.Ejected {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(endpointEjectedDesc, prometheus.GaugeValue, v, name, e.Addr)
		}
	}
}

// constHistogram turns a cumulative pool.Histogram into a Prometheus one.
func constHistogram(d *prometheus.Desc, h pool.Histogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Buckets))
	for _, b := range h.Buckets {
		buckets[b.LE.Seconds()] = b.Count
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum.Seconds(), buckets, labels...)
}
