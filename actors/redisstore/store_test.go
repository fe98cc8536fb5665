package redisstore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/internal/redistest"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/statetest"
)

func newStore(tb testing.TB, cfg config.Redis, opts ...redisstore.Option) *redisstore.Store {
	tb.Helper()
	st, err := redisstore.New(cfg, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

func TestSuite(t *testing.T) {
	addr := redistest.Addr(t)
	statetest.Run(t, func(t *testing.T) state.Store {
		st := newStore(t, config.Redis{URL: "redis://" + addr + "/0", Timeout: config.Duration(5 * time.Second)})
		if err := st.Ping(context.Background()); err != nil {
			t.Fatalf("Ping %s: %v", st, err)
		}
		return st
	})
}

// A server that accepts connections and never answers: calls must give up
// at the timeout with ErrUnavailable.
func TestSilentServerTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		_ = l.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	}()

	const timeout = 200 * time.Millisecond
	st := newStore(t, config.Redis{URL: "redis://" + l.Addr().String(), Timeout: config.Duration(timeout)})
	ctx := context.Background()
	checks := map[string]func() error{
		"Get":  func() error { var v int; return st.Get(ctx, "k", &v) },
		"Set":  func() error { return st.Set(ctx, "k", 1) },
		"Ping": func() error { return st.Ping(ctx) },
		"Pipeline": func() error {
			_, err := st.Pipeline(ctx, state.Command("GET", "k"))
			return err
		},
		"Subscribe": func() error {
			_, err := st.Subscribe(ctx, "c", func(state.Message) {})
			return err
		},
	}
	for name, call := range checks {
		start := time.Now()
		err := call()
		took := time.Since(start)
		if !errors.Is(err, state.ErrUnavailable) {
			t.Errorf("%s = %v, want ErrUnavailable", name, err)
		}
		if took > timeout+300*time.Millisecond {
			t.Errorf("%s took %v, timeout is %v", name, took, timeout)
		}
	}
	// With the only connection stuck, a second call waits for the pool and
	// gives up at the timeout too.
	one := newStore(t, config.Redis{URL: "redis://" + l.Addr().String(), PoolSize: 1, Timeout: config.Duration(timeout)})
	errs := make(chan error, 2)
	start := time.Now()
	for i := 0; i < 2; i++ {
		go func() { errs <- one.Ping(ctx) }()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; !errors.Is(err, state.ErrUnavailable) {
			t.Errorf("Ping with a one-connection pool = %v", err)
		}
	}
	if took := time.Since(start); took > 2*timeout+300*time.Millisecond {
		t.Errorf("two Pings on one stuck connection took %v", took)
	}

	// A caller's earlier deadline wins over the store's timeout.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := st.Ping(short); !errors.Is(err, state.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ping with a short deadline = %v", err)
	}
	if took := time.Since(start); took > 150*time.Millisecond {
		t.Errorf("Ping with a 20ms deadline took %v", took)
	}
}

// Nothing listens: the connection is refused and calls fail at once.
func TestRefusedFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	const timeout = 2 * time.Second
	st := newStore(t, config.Redis{URL: "redis://" + addr, Timeout: config.Duration(timeout)})
	for i := 0; i < 20; i++ {
		start := time.Now()
		_, err := st.Incr(context.Background(), "k")
		if !errors.Is(err, state.ErrUnavailable) {
			t.Fatalf("Incr = %v, want ErrUnavailable", err)
		}
		if took := time.Since(start); took > timeout/2 {
			t.Fatalf("call %d took %v against a refused port", i, took)
		}
	}
}

func TestCanceledIsNotUnavailable(t *testing.T) {
	st := newStore(t, config.Redis{URL: "redis://" + redistest.Addr(t)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := st.Ping(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("Ping with canceled ctx = %v", err)
	}
}

func TestClientAndString(t *testing.T) {
	st := newStore(t, config.Redis{URL: "redis://" + redistest.Addr(t) + "/0"})
	if err := st.Client().Set(context.Background(), "vsm:raw", "1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.String(), "redis(redis://") || st.Timeout() != redisstore.DefaultTimeout {
		t.Fatalf("String = %s, Timeout = %v", st, st.Timeout())
	}
}
