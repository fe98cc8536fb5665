package health

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// GRPCProbe speaks the grpc.health.v1 protocol to Address for Service ("" is
// the server as a whole).
//
// It keeps one Watch stream open: the server pushes every change of the
// service's status, the probe reads the latest one, and a checker that
// runs the probe is told of each change at once (it probes then, rather
// than at its next interval). A server that answers Watch with
// Unimplemented is asked with Check from then on. A stream that breaks or
// gives no first status within the probe's timeout is reopened by the
// next probe.
type GRPCProbe struct {
	Address string
	Service string
	// DialOptions replace the default (plaintext) transport credentials;
	// pass grpc.WithTransportCredentials for TLS.
	DialOptions []grpc.DialOption

	mu        sync.Mutex
	conn      *grpc.ClientConn
	checkOnly bool
	w         *watchStream
	notify    func()
}

var _ Prober = (*GRPCProbe)(nil)
var _ io.Closer = (*GRPCProbe)(nil)

type watchStream struct {
	cancel context.CancelFunc
	first  chan struct{} // closed at the first status
	done   chan struct{} // closed when the stream ends; err is set before
	err    error
	latest atomic.Int32
}

func (p *GRPCProbe) setNotify(f func()) {
	p.mu.Lock()
	p.notify = f
	p.mu.Unlock()
}

func (p *GRPCProbe) client() (healthpb.HealthClient, error) {
	if p.conn == nil {
		opts := p.DialOptions
		if len(opts) == 0 {
			opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
		}
		c, err := grpc.NewClient(p.Address, opts...)
		if err != nil {
			return nil, err
		}
		p.conn = c
	}
	return healthpb.NewHealthClient(p.conn), nil
}

// Probe reports the service's latest status: nil when SERVING, an error
// matching ErrNotServing otherwise.
func (p *GRPCProbe) Probe(ctx context.Context) error {
	p.mu.Lock()
	hc, err := p.client()
	if err != nil {
		p.mu.Unlock()
		return err
	}
	if p.checkOnly {
		p.mu.Unlock()
		return p.check(ctx, hc)
	}
	w := p.w
	if w == nil {
		w = p.watch(hc)
		p.w = w
	}
	p.mu.Unlock()

	select {
	case <-w.first:
		select {
		case <-w.done: // the stream broke since: report that, reopen next time
		default:
			return servingErr(healthpb.HealthCheckResponse_ServingStatus(w.latest.Load()))
		}
	case <-w.done:
	case <-ctx.Done():
		p.forget(w)
		return ctx.Err()
	}
	p.forget(w)
	if status.Code(w.err) == codes.Unimplemented {
		p.mu.Lock()
		p.checkOnly = true
		p.mu.Unlock()
		return p.check(ctx, hc)
	}
	return fmt.Errorf("grpc health watch: %w", w.err)
}

// watch opens a Watch stream; it runs until it fails or is cancelled.
func (p *GRPCProbe) watch(hc healthpb.HealthClient) *watchStream {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watchStream{cancel: cancel, first: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		stream, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: p.Service})
		if err != nil {
			w.err = err
			return
		}
		seen := false
		for {
			m, err := stream.Recv()
			if err != nil {
				w.err = err
				if seen && ctx.Err() == nil {
					// The server went away or ended the stream: the next
					// probe reports it and reopens the stream; let it run
					// now rather than at the next interval.
					p.notifyChange()
				}
				return
			}
			prev := w.latest.Swap(int32(m.GetStatus()))
			if !seen {
				seen = true
				close(w.first)
				continue // the probe that opened the stream is waiting for it
			}
			if prev != int32(m.GetStatus()) {
				p.notifyChange()
			}
		}
	}()
	return w
}

func (p *GRPCProbe) notifyChange() {
	p.mu.Lock()
	f := p.notify
	p.mu.Unlock()
	if f != nil {
		f()
	}
}

// forget drops w (if still current) and ends it.
func (p *GRPCProbe) forget(w *watchStream) {
	p.mu.Lock()
	if p.w == w {
		p.w = nil
	}
	p.mu.Unlock()
	w.cancel()
}

func (p *GRPCProbe) check(ctx context.Context, hc healthpb.HealthClient) error {
	r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: p.Service})
	if err != nil {
		return fmt.Errorf("grpc health check: %w", err)
	}
	return servingErr(r.GetStatus())
}

func servingErr(s healthpb.HealthCheckResponse_ServingStatus) error {
	if s == healthpb.HealthCheckResponse_SERVING {
		return nil
	}
	return fmt.Errorf("%w: grpc health status %s", ErrNotServing, s)
}

// Close ends the stream and the connection, and waits for the stream's
// goroutine. The next Probe dials again (and tries Watch again).
func (p *GRPCProbe) Close() error {
	p.mu.Lock()
	w, conn := p.w, p.conn
	p.w, p.conn, p.checkOnly = nil, nil, false
	p.mu.Unlock()
	if w != nil {
		w.cancel()
		<-w.done
	}
	if conn != nil {
		return conn.Close()
	}
	return nil
}
