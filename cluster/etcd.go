package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// etcdBackend registers this member in etcd under a lease and watches the
// members' prefix. Unlike protoactor's etcd provider its lease TTL is
// configurable and losing the registration is not final: a lease that
// expired while etcd was unreachable (upstream #1133: the member then
// silently stays out of the cluster), or a key someone deleted, is
// registered again by a new session.
type etcdBackend struct {
	p       *provider
	client  *clientv3.Client
	prefix  string // <Prefix><cluster>/members/
	ctx     context.Context
	cancel  context.CancelFunc
	once    sync.Once
	started bool // set inside once: read after once.Do
	done    chan struct{}

	mu    sync.Mutex
	lease clientv3.LeaseID
}

// etcdValue is a member's registration.
type etcdValue struct {
	Name string `json:"name"`
	meta
}

// errRegistrationLost ends a session whose lease or key is gone.
var errRegistrationLost = errors.New("cluster: etcd registration lost")

func newEtcdBackend(p *provider) (*etcdBackend, error) {
	e := p.cfg.Etcd
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: e.Endpoints, DialTimeout: e.DialTimeout, Logger: zap.NewNop(),
		// gRPC's default reconnect backoff grows to 2 minutes: after an
		// etcd outage the member would stay cut off (its watch silent, a
		// clean leave unable to revoke its lease) long after etcd is back.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2,
				MaxDelay: max(p.cfg.Timings.RejoinInterval, 200*time.Millisecond)},
			MinConnectTimeout: e.DialTimeout,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: etcd: %w", ErrStart, err)
	}
	b := &etcdBackend{
		p: p, client: cli, prefix: e.Prefix + p.cfg.Cluster + "/members/", done: make(chan struct{}),
	}
	// Fail Start, not later, when etcd does not answer at all.
	ctx, cancel := context.WithTimeout(context.Background(), e.DialTimeout)
	defer cancel()
	if _, err := cli.Get(ctx, b.prefix, clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("%w: etcd %v: %w", ErrStart, e.Endpoints, err)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

func (b *etcdBackend) addr() string { return "" }

func (b *etcdBackend) key() string { return b.prefix + b.p.self.InstanceID }

// join starts the registration loop once; later calls (while alone) have
// nothing to do: the loop keeps the registration itself.
func (b *etcdBackend) join() {
	b.once.Do(func() {
		b.started = true
		go b.loop()
	})
}

func (b *etcdBackend) loop() {
	defer close(b.done)
	for {
		err := b.session()
		if b.ctx.Err() != nil {
			return
		}
		b.p.log.Warn("cluster: etcd session ended; registering again", slog.Any("error", err))
		select {
		case <-b.ctx.Done():
			return
		case <-time.After(b.p.cfg.Timings.RejoinInterval):
		}
	}
}

// session registers this member, lists the members and follows their
// changes until the registration is lost or the backend stops.
func (b *etcdBackend) session() error {
	ctx := b.ctx
	ttl := max(int64(b.p.cfg.Etcd.LeaseTTL/time.Second), 1)
	lease, err := b.client.Grant(ctx, ttl)
	if err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	val, err := json.Marshal(etcdValue{Name: b.p.cfg.Name, meta: b.p.self})
	if err != nil {
		return err
	}
	if _, err := b.client.Put(ctx, b.key(), string(val), clientv3.WithLease(lease.ID)); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	b.mu.Lock()
	b.lease = lease.ID
	b.mu.Unlock()
	// The keepalive stream gets its own context: it is ended with the
	// session, not only with the backend.
	kctx, kcancel := context.WithCancel(ctx)
	defer kcancel()
	ka, err := b.client.KeepAlive(kctx, lease.ID)
	if err != nil {
		return fmt.Errorf("keepalive: %w", err)
	}
	resp, err := b.client.Get(ctx, b.prefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	b.resync(resp.Kvs)
	wch := b.client.Watch(kctx, b.prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
	// The watch is the fast path; a full listing every RejoinInterval is
	// the safety net for what a watch can miss across an etcd restart
	// (seen: a watch that resumed without delivering the deletion of our
	// own key, so we never registered again).
	tick := time.NewTicker(b.p.cfg.Timings.RejoinInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			resp, err := b.client.Get(ctx, b.prefix, clientv3.WithPrefix())
			if err != nil {
				continue // etcd unreachable: keep the view, try again
			}
			own := false
			for _, kv := range resp.Kvs {
				own = own || string(kv.Key) == b.key()
			}
			if !own {
				return fmt.Errorf("%w: key %s missing", errRegistrationLost, b.key())
			}
			b.resync(resp.Kvs)
		case r, ok := <-ka:
			// The channel closes when the lease is gone (expired while etcd
			// was unreachable) or keepalives failed for good.
			if !ok || r == nil {
				return fmt.Errorf("%w: lease %x expired", errRegistrationLost, lease.ID)
			}
		case wr, ok := <-wch:
			if !ok || wr.Canceled {
				return fmt.Errorf("watch ended: %v", wr.Err())
			}
			for _, ev := range wr.Events {
				k := string(ev.Kv.Key)
				if ev.Type == clientv3.EventTypeDelete {
					if k == b.key() {
						return fmt.Errorf("%w: key %s deleted", errRegistrationLost, k)
					}
					b.removeKey(k)
					continue
				}
				b.put(ev.Kv.Value)
			}
		}
	}
}

// resync makes the peers exactly the registrations listed.
func (b *etcdBackend) resync(kvs []*mvccpb.KeyValue) {
	seen := map[string]bool{}
	for _, kv := range kvs {
		if v, ok := b.decode(kv.Value); ok {
			seen[v.InstanceID] = true
			b.p.upsertPeer(peer{name: v.Name, meta: v.meta})
		}
	}
	for _, m := range b.p.peerList() {
		if !seen[m.meta.InstanceID] {
			b.p.removePeer(m.name, m.meta.InstanceID)
		}
	}
}

func (b *etcdBackend) put(value []byte) {
	if v, ok := b.decode(value); ok {
		b.p.upsertPeer(peer{name: v.Name, meta: v.meta})
	}
}

func (b *etcdBackend) removeKey(key string) {
	id := strings.TrimPrefix(key, b.prefix)
	for _, pr := range b.p.peerList() {
		if pr.meta.InstanceID == id {
			b.p.removePeer(pr.name, id)
		}
	}
}

func (b *etcdBackend) decode(value []byte) (etcdValue, bool) {
	var v etcdValue
	if err := json.Unmarshal(value, &v); err != nil || v.Name == "" || v.InstanceID == "" {
		b.p.log.Warn("cluster: unreadable etcd registration ignored", slog.String("value", string(value)))
		return v, false
	}
	return v, true
}

// leave revokes the lease: etcd deletes the registration and every member
// watching sees it at once.
func (b *etcdBackend) leave(timeout time.Duration) error {
	b.mu.Lock()
	lease := b.lease
	b.mu.Unlock()
	b.cancel() // no new session may register again
	if lease == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := b.client.Revoke(ctx, lease)
	return err
}

func (b *etcdBackend) stop() error {
	b.cancel()
	b.once.Do(func() {}) // a loop not started by now never starts
	if b.started {
		<-b.done
	}
	return b.client.Close()
}
