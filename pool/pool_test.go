package pool

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// res is a test resource; its id says which New made it.
type res struct {
	id     int
	closed atomic.Bool
	bad    atomic.Bool
}

// factory counts what it makes and closes; fail makes New return an error.
type factory struct {
	mu     sync.Mutex
	next   int
	made   []*res
	fail   error
	closes atomic.Int64
}

func (f *factory) New(ctx context.Context) (*res, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	f.next++
	r := &res{id: f.next}
	f.made = append(f.made, r)
	return r, nil
}

func (f *factory) Close(r *res) error {
	if r.closed.Swap(true) {
		panic("resource closed twice")
	}
	f.closes.Add(1)
	return nil
}

func (f *factory) Healthy(r *res) bool { return !r.bad.Load() }

func newPool(t *testing.T, cfg Config) (*Pool[*res], *factory) {
	t.Helper()
	f := &factory{}
	p, err := New[*res](cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, f
}

func get(t *testing.T, p *Pool[*res]) Lease[*res] {
	t.Helper()
	l, err := p.Get(context.Background())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return l
}

// queued installs a hook that reports each Get joining the wait queue.
func queued(p *Pool[*res]) <-chan struct{} {
	ch := make(chan struct{}, 128)
	p.testHookQueued = func() { ch <- struct{}{} }
	return ch
}

// recv waits for a value on ch, failing the test after a bounded wait.
func recv[T any](t *testing.T, ch <-chan T) T { return actortest.Recv(t, ch) }

// eventually spins (yielding, never sleeping) until cond holds or 10s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func TestReuseAndStats(t *testing.T) {
	p, f := newPool(t, Config{Size: 2})
	for range 5 {
		l := get(t, p)
		if l.Value().id != 1 {
			t.Fatalf("got resource %d, want 1 reused", l.Value().id)
		}
		l.Release()
	}
	a, b := get(t, p), get(t, p)
	s := p.Stats()
	if s.Size != 2 || s.InUse != 2 || s.Idle != 0 || s.Created != 2 || s.Checkouts != 7 {
		t.Fatalf("stats %+v", s)
	}
	a.Release()
	b.Release()
	s = p.Stats()
	if s.InUse != 0 || s.Idle != 2 || s.Closed != 0 || f.closes.Load() != 0 {
		t.Fatalf("stats %+v", s)
	}
	// The fast path counts as a zero wait: everything in the first bucket.
	if s.Wait.Buckets[0].Count < 5 || s.Wait.Count != 7 {
		t.Fatalf("wait histogram %+v", s.Wait)
	}
}

func TestTimeoutWhenFull(t *testing.T) {
	p, _ := newPool(t, Config{Size: 1, Timeout: 20 * time.Millisecond})
	l := get(t, p)
	_, err := p.Get(context.Background())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	s := p.Stats()
	if s.Timeouts != 1 || s.Waiting != 0 || s.InUse != 1 {
		t.Fatalf("stats %+v", s)
	}
	l.Release()
}

func TestContextCancelWhileWaiting(t *testing.T) {
	p, _ := newPool(t, Config{Size: 1, Timeout: -1})
	q := queued(p)
	l := get(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := p.Get(ctx); errc <- err }()
	recv(t, q)
	cancel()
	if err := recv(t, errc); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if s := p.Stats(); s.Waiting != 0 || s.Timeouts != 0 {
		t.Fatalf("stats %+v", s)
	}
	l.Release()
	// A done context fails even when a resource is idle.
	if _, err := p.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestWaitersServedFIFO(t *testing.T) {
	p, _ := newPool(t, Config{Size: 1})
	q := queued(p)
	l := get(t, p)
	order := make(chan int, 3)
	for i := range 3 {
		go func() {
			w, err := p.Get(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			w.Release()
		}()
		recv(t, q) // waiter i is queued before i+1 starts
	}
	l.Release()
	for want := range 3 {
		if got := recv(t, order); got != want {
			t.Fatalf("waiter %d served at position %d", got, want)
		}
	}
	if s := p.Stats(); s.Created != 1 || s.Checkouts != 4 || s.InUse != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDiscardReplacesLazily(t *testing.T) {
	p, f := newPool(t, Config{Size: 1})
	l := get(t, p)
	first := l.Value()
	l.Discard()
	if !first.closed.Load() {
		t.Fatal("discarded resource not closed")
	}
	if s := p.Stats(); s.Created != 1 || s.Idle != 0 || s.InUse != 0 {
		t.Fatalf("stats %+v", s) // nothing made until needed
	}
	l = get(t, p)
	if l.Value().id != 2 {
		t.Fatalf("got %d, want a new resource 2", l.Value().id)
	}
	l.Release()
	s := p.Stats()
	if s.Created != 2 || s.Discarded != 1 || s.Closed != 1 || f.closes.Load() != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestUnhealthyIdleIsReplaced(t *testing.T) {
	p, _ := newPool(t, Config{Size: 2})
	a, b := get(t, p), get(t, p)
	a.Value().bad.Store(true)
	b.Release()
	a.Release() // a is on top of the idle stack
	l := get(t, p)
	if l.Value().id != 2 {
		t.Fatalf("got %d, want healthy resource 2", l.Value().id)
	}
	if !a.Value().closed.Load() {
		t.Fatal("unhealthy resource not closed")
	}
	l.Release()
	if s := p.Stats(); s.Discarded != 1 || s.Created != 2 || s.Idle != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDoubleReleaseIsNoOp(t *testing.T) {
	p, _ := newPool(t, Config{Size: 1})
	a := get(t, p)
	a.Release()
	b := get(t, p) // same resource, new lease
	a.Release()    // stale: must not free b's slot
	a.Discard()
	if s := p.Stats(); s.InUse != 1 || s.Discarded != 0 {
		t.Fatalf("stale release changed the pool: %+v", s)
	}
	b.Release()
	b.Release()
	if s := p.Stats(); s.InUse != 0 || s.Idle != 1 {
		t.Fatalf("stats %+v", s)
	}
	var zero Lease[*res]
	zero.Release()
	zero.Discard()
	if zero.Value() != nil {
		t.Fatal("zero lease has a value")
	}
}

func TestFactoryErrorFreesSlot(t *testing.T) {
	p, f := newPool(t, Config{Size: 1})
	boom := errors.New("boom")
	f.fail = boom
	if _, err := p.Get(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	f.mu.Lock()
	f.fail = nil
	f.mu.Unlock()
	l := get(t, p)
	l.Release()
	if s := p.Stats(); s.CreateErrors != 1 || s.Created != 1 || s.InUse != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFactoryErrorPassesSlotToWaiter(t *testing.T) {
	f := &blockingFactory{release: make(chan error), started: make(chan struct{}, 2)}
	p, err := New[int](Config{Size: 1}, f)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	q := make(chan struct{}, 1)
	p.testHookQueued = func() { q <- struct{}{} }
	first := make(chan error, 1)
	go func() { _, err := p.Get(context.Background()); first <- err }()
	recv(t, f.started) // first Get holds the only slot, creating
	second := make(chan Lease[int], 1)
	go func() {
		l, err := p.Get(context.Background())
		if err != nil {
			t.Error(err)
		}
		second <- l
	}()
	recv(t, q)
	f.release <- errors.New("dial failed")
	if err := recv(t, first); err == nil {
		t.Fatal("first Get succeeded")
	}
	recv(t, f.started)
	f.release <- nil
	l := recv(t, second)
	if l.Value() != 2 {
		t.Fatalf("second got %d", l.Value())
	}
	l.Release()
}

type blockingFactory struct {
	n       atomic.Int64
	started chan struct{}
	release chan error
}

func (f *blockingFactory) New(ctx context.Context) (int, error) {
	n := int(f.n.Add(1))
	f.started <- struct{}{}
	if err := <-f.release; err != nil {
		return 0, err
	}
	return n, nil
}
func (f *blockingFactory) Close(int) error { return nil }

func TestClose(t *testing.T) {
	p, f := newPool(t, Config{Size: 1, Timeout: -1})
	q := queued(p)
	held := get(t, p)
	errc := make(chan error, 1)
	go func() { _, err := p.Get(context.Background()); errc <- err }()
	recv(t, q)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, errc); !errors.Is(err, ErrClosed) {
		t.Fatalf("waiter err = %v, want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := p.Get(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if err := p.Resize(3); !errors.Is(err, ErrClosed) {
		t.Fatalf("Resize after Close: %v", err)
	}
	if held.Value().closed.Load() {
		t.Fatal("in-use resource closed before return")
	}
	held.Release()
	if !held.Value().closed.Load() || f.closes.Load() != 1 {
		t.Fatal("in-use resource not closed on return")
	}
	if s := p.Stats(); s.InUse != 0 || s.Waiting != 0 || s.Closed != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCloseClosesIdle(t *testing.T) {
	p, f := newPool(t, Config{Size: 3})
	a, b := get(t, p), get(t, p)
	a.Release()
	b.Release()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if f.closes.Load() != 2 || !a.Value().closed.Load() || !b.Value().closed.Load() {
		t.Fatalf("closed %d idle resources, want 2", f.closes.Load())
	}
	if s := p.Stats(); s.Idle != 0 || s.Closed != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestIdleTimeoutAndReap(t *testing.T) {
	var now atomic.Int64
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	p, _ := newPool(t, Config{Size: 3, IdleTimeout: time.Minute, Now: clock})
	a, b := get(t, p), get(t, p)
	a.Release() // released at t=0
	now.Store(int64(30 * time.Second))
	b.Release() // released at t=30s, top of the stack
	now.Store(int64(70 * time.Second))
	if n := p.Reap(); n != 1 {
		t.Fatalf("Reap closed %d, want 1 (only a is over a minute idle)", n)
	}
	if !a.Value().closed.Load() || b.Value().closed.Load() {
		t.Fatal("wrong resource reaped")
	}
	now.Store(int64(200 * time.Second))
	l := get(t, p) // b is expired too: closed and replaced at checkout
	if l.Value().id != 3 || !b.Value().closed.Load() {
		t.Fatalf("got %d, want new resource 3", l.Value().id)
	}
	l.Release()
	if s := p.Stats(); s.Closed != 2 || s.Created != 3 || s.Idle != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMaxIdle(t *testing.T) {
	p, f := newPool(t, Config{Size: 3, MaxIdle: 1})
	a, b, c := get(t, p), get(t, p), get(t, p)
	a.Release()
	b.Release()
	c.Release()
	if s := p.Stats(); s.Idle != 1 || f.closes.Load() != 2 {
		t.Fatalf("stats %+v, closes %d", s, f.closes.Load())
	}
}

func TestResizeGrowServesWaiters(t *testing.T) {
	p, _ := newPool(t, Config{Size: 1, Timeout: -1})
	q := queued(p)
	l := get(t, p)
	got := make(chan Lease[*res], 2)
	for range 2 {
		go func() {
			w, err := p.Get(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- w
		}()
		recv(t, q)
	}
	if err := p.Resize(3); err != nil {
		t.Fatal(err)
	}
	w1, w2 := recv(t, got), recv(t, got)
	if s := p.Stats(); s.Size != 3 || s.InUse != 3 || s.Waiting != 0 {
		t.Fatalf("stats %+v", s)
	}
	l.Release()
	w1.Release()
	w2.Release()
	if err := p.Resize(0); !errors.Is(err, ErrInvalidSize) {
		t.Fatalf("Resize(0) = %v", err)
	}
}

func TestResizeShrinkClosesOnReturn(t *testing.T) {
	p, f := newPool(t, Config{Size: 4})
	ls := []Lease[*res]{get(t, p), get(t, p), get(t, p), get(t, p)}
	ls[3].Release() // one idle
	if err := p.Resize(2); err != nil {
		t.Fatal(err)
	}
	// The idle one is surplus (3 in use > 2) and goes at once.
	if s := p.Stats(); s.Idle != 0 || s.InUse != 3 || f.closes.Load() != 1 {
		t.Fatalf("stats %+v", s)
	}
	ls[0].Release() // 3 > 2: closed
	ls[1].Release() // 2 in use = size: 1 in use after, kept idle
	if s := p.Stats(); s.InUse != 1 || s.Idle != 1 || f.closes.Load() != 2 {
		t.Fatalf("stats %+v, closes %d", s, f.closes.Load())
	}
	ls[2].Release()
	if s := p.Stats(); s.InUse != 0 || s.Idle != 2 || s.Created-s.Closed != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// TestResizeUnderLoad resizes down and up while 64 goroutines hold and
// queue for resources: no Get fails, and once a shrink has drained no more
// than the new size are ever held at once.
func TestResizeUnderLoad(t *testing.T) {
	const workers = 64
	p, f := newPool(t, Config{Size: 8, Timeout: -1})
	var (
		held, limit, violations, ok atomic.Int64
		failures                    atomic.Int64
		wg                          sync.WaitGroup
	)
	limit.Store(8)
	stop := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				l, err := p.Get(ctx)
				cancel()
				if err != nil {
					failures.Add(1)
					continue
				}
				if h := held.Add(1); h > limit.Load() {
					violations.Add(1)
				}
				runtime.Gosched()
				held.Add(-1)
				ok.Add(1)
				l.Release()
			}
		}()
	}
	progress := func(n int64) {
		start := ok.Load()
		eventually(t, "progress", func() bool { return ok.Load() >= start+n })
	}
	shrink := func(n int) {
		if err := p.Resize(n); err != nil {
			t.Fatal(err)
		}
		eventually(t, "shrink to settle", func() bool { return p.Stats().InUse <= n })
		limit.Store(int64(n))
	}
	grow := func(n int) {
		limit.Store(int64(n))
		if err := p.Resize(n); err != nil {
			t.Fatal(err)
		}
	}
	progress(500)
	shrink(2)
	progress(500)
	grow(16)
	progress(500)
	shrink(1)
	progress(200)
	grow(5)
	progress(500)
	close(stop)
	wg.Wait()

	if failures.Load() != 0 || violations.Load() != 0 {
		t.Fatalf("%d failed Gets, %d times above the size", failures.Load(), violations.Load())
	}
	s := p.Stats()
	if s.Checkouts != uint64(ok.Load()) {
		t.Fatalf("Checkouts %d, workers counted %d", s.Checkouts, ok.Load())
	}
	if s.InUse != 0 || s.Waiting != 0 || s.Size != 5 || s.Idle > 5 {
		t.Fatalf("stats %+v", s)
	}
	if open := s.Created - s.Closed; open != uint64(s.Idle) || int64(open) != int64(len(f.made))-f.closes.Load() {
		t.Fatalf("open resources %d, idle %d", open, s.Idle)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	f := &factory{}
	for _, cfg := range []Config{{Size: -1}, {MaxIdle: -1}, {IdleTimeout: -1}} {
		if _, err := New[*res](cfg, f); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	if _, err := New[*res](Config{}, nil); err == nil {
		t.Error("New with nil factory succeeded")
	}
	p, err := New[*res](Config{}, f)
	if err != nil {
		t.Fatal(err)
	}
	if p.Size() != DefaultSize || p.timeout != DefaultTimeout {
		t.Fatalf("defaults: size %d timeout %v", p.Size(), p.timeout)
	}
}

// TestTimeoutRaceKeepsAccounts has callers give up while resources are
// being handed to them; every slot must come back.
func TestTimeoutRaceKeepsAccounts(t *testing.T) {
	p, _ := newPool(t, Config{Size: 2, Timeout: -1})
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 300 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%4)*time.Microsecond)
				l, err := p.Get(ctx)
				cancel()
				if err != nil {
					failed.Add(1)
					continue
				}
				ok.Add(1)
				if i%5 == 0 {
					l.Discard()
				} else {
					l.Release()
				}
			}
		}()
	}
	wg.Wait()
	s := p.Stats()
	if s.InUse != 0 || s.Waiting != 0 || s.Checkouts != uint64(ok.Load()) || s.Created-s.Closed != uint64(s.Idle) {
		t.Fatalf("stats %+v, ok %d failed %d", s, ok.Load(), failed.Load())
	}
	if ok.Load()+failed.Load() != 32*300 {
		t.Fatalf("%d outcomes", ok.Load()+failed.Load())
	}
	t.Logf("ok %d, gave up %d", ok.Load(), failed.Load())
}

func TestDiscardHandsSlotToWaiter(t *testing.T) {
	p, _ := newPool(t, Config{Size: 1})
	q := queued(p)
	l := get(t, p)
	got := make(chan Lease[*res], 1)
	go func() {
		w, err := p.Get(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- w
	}()
	recv(t, q)
	l.Discard()
	w := recv(t, got)
	if w.Value().id != 2 || w.Wait() <= 0 {
		t.Fatalf("waiter got %d after %v, want a new resource 2", w.Value().id, w.Wait())
	}
	w.Release()
	if s := p.Stats(); s.InUse != 0 || s.Idle != 1 || s.Discarded != 1 || s.Created != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestStatsJSON(t *testing.T) {
	p, _ := newPool(t, Config{Size: 1})
	get(t, p).Release()
	b, err := json.Marshal(p.Stats())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"size", "in_use", "idle", "waiting", "checkouts", "timeouts", "discarded", "created", "closed", "create_errors", "wait"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	w := m["wait"].(map[string]any)
	if w["count"].(float64) != 1 || len(w["buckets"].([]any)) != len(waitBounds) {
		t.Fatalf("wait %v", w)
	}
}
