package coord

import (
	"context"
	"errors"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/state"
)

// Transport carries one shared breaker's protocol between nodes: the bus
// of Records, the stored last Record and the probe lease. The coordinator
// is the same state machine whatever carries it; the default transport
// (Env.Transport nil) is the state.Store (Redis), and package
// cluster/signals has one over the cluster's own remote messages for nodes
// without Redis.
//
// Every method is called from the coordinator's I/O queue, one at a time,
// and must honour ctx. An error matching state.ErrUnavailable means nobody
// can coordinate now: the coordinator then recovers on its own rather than
// stay open for ever.
type Transport interface {
	// Subscribe calls fn with every Record other nodes publish (Records of
	// this node's Env.Node may be passed too: they are ignored), until the
	// returned Closer is closed.
	Subscribe(ctx context.Context, fn func(Record)) (io.Closer, error)
	// Read returns the last stored Record, or nil when there is none.
	Read(ctx context.Context) (*Record, error)
	// Publish numbers rec unless it has a Version already (above seen,
	// the highest version this node has seen), sends it to every node and
	// stores it unless a newer Record is stored. It returns rec as far as
	// it got (numbered or not) with the error.
	Publish(ctx context.Context, rec Record, seen int64) (Record, error)
	// AcquireLease grants node the probe lease for ttl unless another node
	// holds it, or returns the stored Record instead when it is newer than
	// seen (the cluster moved on).
	AcquireLease(ctx context.Context, node string, ttl time.Duration, seen int64) (granted bool, newer *Record, err error)
	// ReleaseLease gives the lease back if node holds it.
	ReleaseLease(ctx context.Context, node string) error
}

// storeTransport is the Transport over a state.Store: the keys and
// channel of doc.go.
type storeTransport struct {
	st    state.Store
	k     keys
	own   string
	log   *zap.Logger
	stats *Stats
}

var _ Transport = (*storeTransport)(nil)

func (s *storeTransport) Subscribe(ctx context.Context, fn func(Record)) (io.Closer, error) {
	own := s.own
	return s.st.Subscribe(ctx, s.k.channel, func(m state.Message) {
		var rec Record
		if err := m.Decode(&rec); err != nil || rec.Node == own {
			return
		}
		fn(rec)
	})
}

func (s *storeTransport) Read(ctx context.Context) (*Record, error) {
	var rec Record
	err := s.st.Get(ctx, s.k.stateKey, &rec)
	switch {
	case err == nil:
		return &rec, nil
	case errors.Is(err, state.ErrNotFound):
		return nil, nil
	}
	return nil, err
}

func (s *storeTransport) Publish(ctx context.Context, rec Record, seen int64) (Record, error) {
	return publishRecord(ctx, s.st, s.k, rec, seen, s.log, s.stats)
}

func (s *storeTransport) AcquireLease(ctx context.Context, node string, ttl time.Duration, seen int64) (bool, *Record, error) {
	return acquireLease(ctx, s.st, s.k, node, ttl, seen)
}

func (s *storeTransport) ReleaseLease(ctx context.Context, node string) error {
	k := s.k
	return s.st.Transaction(ctx, []string{k.leaseKey}, func(tx state.Tx) error {
		var holder string
		if tx.Get(ctx, k.leaseKey, &holder) == nil && holder == node {
			tx.Del(k.leaseKey)
		}
		return nil
	})
}
