package redisstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/internal/deadline"
	"github.com/viable-systems/vsm-connections/state"
)

// DefaultTimeout bounds every call when the configuration gives none.
const DefaultTimeout = 5 * time.Second

// closeGrace is how long Close lets the auto-pipeliner send and complete
// the commands it holds before closing the connections under them.
const closeGrace = 100 * time.Millisecond

// Option configures New.
type Option interface{ apply(*options) }

type options struct {
	txAttempts   int
	logger       *zap.Logger
	replicaAcks  int
	autoPipeline bool

	// Test hooks, set by export_test.go only (see autoPipe).
	testAlwaysBatch bool
	testOnBatch     func()
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithTxAttempts sets how many times Transaction runs its function before
// giving up with state.ErrConflict. Default 64.
func WithTxAttempts(n int) Option {
	return optionFunc(func(o *options) {
		if n > 0 {
			o.txAttempts = n
		}
	})
}

// WithLogger sets the logger for subscription connection losses and
// recoveries. Default: no logging.
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(o *options) {
		if l != nil {
			o.logger = l
		}
	})
}

// WithReplicaAcks makes every write wait until n replicas have it (see
// config.Redis.ReplicaAcks, which sets it too; this option wins).
func WithReplicaAcks(n int) Option {
	return optionFunc(func(o *options) { o.replicaAcks = max(n, 0) })
}

// WithAutoPipeline turns auto-pipelining of concurrent Get and Set calls on
// or off (see config.Redis.DisableAutoPipeline, which sets it too; this
// option wins). Default on.
func WithAutoPipeline(on bool) Option {
	return optionFunc(func(o *options) { o.autoPipeline = on })
}

// Store is the Redis backend of state.Store. Create it with New.
type Store struct {
	c       goredis.UniversalClient
	cluster *goredis.ClusterClient // c, in Redis Cluster mode; nil otherwise
	pipe    *autoPipe              // batches concurrent Get and Set; nil when off
	conns   *conns                 // every connection c dialled
	timeout time.Duration
	opts    options
	red     redactor
	desc    string

	closed    atomic.Bool
	noSharded atomic.Bool      // the cluster has no SSUBSCRIBE (Redis 6)
	deadline  *deadline.Shared // see bound
	mu        sync.Mutex
	subs      map[*subscription]struct{}
}

var _ state.Store = (*Store)(nil)

// New connects lazily (no I/O happens here; use Ping to check the server)
// and returns a Store. cfg must be enabled (a URL or addresses).
func New(cfg config.Redis, opts ...Option) (*Store, error) {
	o := options{txAttempts: 64, logger: zap.NewNop(), replicaAcks: max(cfg.ReplicaAcks, 0), autoPipeline: !cfg.DisableAutoPipeline}
	for _, opt := range opts {
		opt.apply(&o)
	}
	red := newRedactor(cfg.URL, cfg.Password)
	uo, desc, err := universalOptions(cfg, &red)
	if err != nil {
		return nil, err
	}
	// go-redis's own dialer for these options, tracked (conns.go).
	s := &Store{
		conns:   newConns(goredis.NewDialer(&goredis.Options{DialTimeout: uo.DialTimeout, TLSConfig: uo.TLSConfig})),
		timeout: uo.ReadTimeout,
		// Renewed every timeout/64, 1ms to 50ms.
		deadline: deadline.NewShared(uo.ReadTimeout, min(max(uo.ReadTimeout/64, time.Millisecond), 50*time.Millisecond)),
		opts:     o,
		red:      red,
		desc:     desc,
		subs:     make(map[*subscription]struct{}),
	}
	uo.Dialer = s.conns.Dial
	if uo.MasterName == "" && len(uo.Addrs) > 1 {
		// What NewUniversalClient would build, with a fresher slot map.
		co := uo.Cluster()
		co.ClusterStateReloadInterval = clusterReloadEvery
		s.cluster = goredis.NewClusterClient(co)
		s.c = s.cluster
	} else {
		s.c = goredis.NewUniversalClient(uo)
	}
	if o.autoPipeline {
		s.pipe = newAutoPipe(s.c, o)
	}
	return s, nil
}

func configError(red *redactor, format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, red.redact(fmt.Sprintf(format, args...)))
}

// universalOptions maps the node's configuration onto go-redis's, and
// returns a description of the target without credentials.
func universalOptions(cfg config.Redis, red *redactor) (*goredis.UniversalOptions, string, error) {
	timeout := cfg.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	uo := &goredis.UniversalOptions{
		Username: cfg.Username,
		Password: cfg.Password,
		PoolSize: cfg.PoolSize,
	}
	var desc string
	var tlsCfg *tls.Config
	switch {
	case cfg.URL != "" && len(cfg.Addrs) > 0:
		return nil, "", configError(red, "give either url or addrs, not both")
	case cfg.URL != "":
		po, err := goredis.ParseURL(cfg.URL)
		if err != nil {
			if _, isURL := err.(*url.Error); isURL {
				// url.Parse quotes the URL and the offending escape, which
				// may be part of the password: say no more than this.
				return nil, "", configError(red, "url %s does not parse as a URL", redactURL(cfg.URL, red))
			}
			return nil, "", configError(red, "url %s: %v", redactURL(cfg.URL, red), err)
		}
		if po.Network != "tcp" {
			return nil, "", configError(red, "url %s: only redis:// and rediss:// are supported", redactURL(cfg.URL, red))
		}
		uo.Addrs = []string{po.Addr}
		uo.DB = po.DB
		if uo.Username == "" {
			uo.Username = po.Username
		}
		if uo.Password == "" {
			uo.Password = po.Password
		}
		tlsCfg = po.TLSConfig
		desc = redactURL(cfg.URL, red)
	case len(cfg.Addrs) > 0:
		uo.Addrs = append([]string(nil), cfg.Addrs...)
		uo.MasterName = cfg.MasterName
		switch {
		case cfg.MasterName != "":
			desc = fmt.Sprintf("sentinel master=%s addrs=%s", cfg.MasterName, strings.Join(cfg.Addrs, ","))
		case len(cfg.Addrs) > 1:
			desc = "cluster addrs=" + strings.Join(cfg.Addrs, ",")
		default:
			desc = cfg.Addrs[0]
		}
	default:
		return nil, "", configError(red, "no url or addrs: Redis is not configured")
	}
	if uo.Password != "" {
		// A password from the URL's query or a user field: mask it too.
		red.secrets = append(red.secrets, uo.Password)
	}
	var err error
	if tlsCfg, err = tlsConfig(cfg.TLS, tlsCfg, red); err != nil {
		return nil, "", err
	}
	uo.TLSConfig = tlsCfg
	uo.DialTimeout = timeout
	uo.ReadTimeout = timeout
	uo.WriteTimeout = timeout
	uo.PoolTimeout = timeout
	uo.ContextTimeoutEnabled = true
	// Fail fast when Redis is down: one dial per attempt and one retry (for
	// a pooled connection that died with a server restart), instead of
	// go-redis's 5 dials × 4 attempts with backoff.
	uo.DialerRetries = 1
	uo.MaxRetries = 1
	if tlsCfg != nil && !strings.HasPrefix(desc, "rediss://") {
		desc += " (tls)"
	}
	return uo, desc, nil
}

func redactURL(raw string, red *redactor) string {
	if u, err := url.Parse(raw); err == nil {
		return red.redact(u.Redacted())
	}
	return red.redact(raw)
}

// tlsConfig adds the configured files to base (set for rediss://). Any file
// or server name turns TLS on.
func tlsConfig(t config.TLS, base *tls.Config, red *redactor) (*tls.Config, error) {
	if base == nil && t == (config.TLS{}) {
		return nil, nil
	}
	var c *tls.Config
	if base != nil {
		c = base.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, configError(red, "tls.ca_file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configError(red, "tls.ca_file %s holds no PEM certificate", t.CAFile)
		}
		c.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, configError(red, "tls.cert_file and tls.key_file go together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, configError(red, "tls client certificate: %v", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	if t.ServerName != "" {
		c.ServerName = t.ServerName
	}
	return c, nil
}

// String describes the target without credentials.
func (s *Store) String() string { return "redis(" + s.desc + ")" }

// Client returns the underlying go-redis client, for commands the state API
// does not cover. Closing the Store closes it.
func (s *Store) Client() goredis.UniversalClient { return s.c }

// Timeout is the bound applied to every call.
func (s *Store) Timeout() time.Duration { return s.timeout }

func noop() {}

// bound returns ctx limited to the store's timeout unless ctx already ends
// sooner.
//
// A context.WithTimeout per call arms and stops a runtime timer per call,
// which measurably slowed parallel callers. A caller's context that can
// never be canceled (Background, TODO, or values on top of them) therefore
// gets a shared deadline context instead, renewed every timeout/64 (1ms to
// 50ms): each call is still bounded, by at most timeout and at least
// timeout minus that renewal period. Cancelable contexts get their own
// WithTimeout, as they must.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= s.timeout {
		return ctx, noop
	}
	if ctx.Done() != nil {
		return context.WithTimeout(ctx, s.timeout)
	}
	return s.deadline.Bound(ctx), noop
}

// Close ends every subscription, then closes the client. Idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.mu.Lock()
	subs := make([]*subscription, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	for _, sub := range subs {
		_ = sub.Close()
	}
	if s.pipe != nil {
		// The pipeliner's Close sends what is queued and waits for the
		// replies: on a hung server, for the timeout per batch (and the
		// client's Close waits for it too). So it gets closeGrace; then
		// every connection is closed under it, which fails the stuck
		// batches at once and ends the drain, waited for so that no
		// goroutine outlives Close.
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_ = s.pipe.close()
		}()
		grace := time.NewTimer(min(s.timeout, closeGrace))
		select {
		case <-drained:
		case <-grace.C:
			s.conns.closeAll()
			<-drained
		}
		grace.Stop()
	}
	s.deadline.Stop()
	if err := s.c.Close(); err != nil {
		return s.wrap("close", err)
	}
	return nil
}

func (s *Store) checkOpen(op string) error {
	if s.closed.Load() {
		return fmt.Errorf("redis %s: %w", op, state.ErrClosed)
	}
	return nil
}
