package grpcpool

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
	"github.com/viable-systems/vsm-connections/breaker"
)

// transitions records a breaker's state sequence.
type transitions struct {
	mu     sync.Mutex
	states []string
	ch     chan breaker.State
}

func watch(b *breaker.Breaker) *transitions {
	tr := &transitions{states: []string{b.State().String()}, ch: make(chan breaker.State, 16)}
	b.Subscribe(func(t breaker.Transition) {
		tr.mu.Lock()
		tr.states = append(tr.states, t.To.String())
		tr.mu.Unlock()
		tr.ch <- t.To
	})
	return tr
}

func (tr *transitions) get() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.states...)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// codeServer answers unary calls with the code set in next (OK: echo).
type codeServer struct {
	code atomic.Uint32
}

func (s *codeServer) handle(_ context.Context, r *testpb.Request) (*testpb.Reply, error) {
	if c := codes.Code(s.code.Load()); c != codes.OK {
		return nil, status.Error(c, "told to fail")
	}
	return &testpb.Reply{Text: r.GetText()}, nil
}

func TestFailureCodes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		codes    []codes.Code
		code     codes.Code
		failures uint64
	}{
		{"InvalidArgument is the caller's", nil, codes.InvalidArgument, 0},
		{"NotFound is the caller's", nil, codes.NotFound, 0},
		{"PermissionDenied is the caller's", nil, codes.PermissionDenied, 0},
		{"Unavailable counts", nil, codes.Unavailable, 2},
		{"DeadlineExceeded counts", nil, codes.DeadlineExceeded, 2},
		{"ResourceExhausted counts", nil, codes.ResourceExhausted, 2},
		{"Internal counts", nil, codes.Internal, 2},
		{"configured NotFound counts", []codes.Code{codes.NotFound}, codes.NotFound, 2},
		{"configured: Unavailable does not", []codes.Code{codes.NotFound}, codes.Unavailable, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := &codeServer{}
			cs.code.Store(uint32(tc.code))
			ts := (&testServer{unary: cs.handle}).start(t, "")
			b := breaker.New("codes", breaker.Settings{FailureThreshold: 100})
			ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Breaker: b, FailureCodes: tc.codes, Retry: RetryPolicy{MaxAttempts: 1}})
			for range 2 {
				_, err := testpb.NewTestClient(ch).Unary(bounded(t), &testpb.Request{})
				if status.Code(err) != tc.code {
					t.Fatalf("err = %v, want %v", err, tc.code)
				}
			}
			st := b.Stats()
			if st.Failures != tc.failures || st.Successes != 2-tc.failures {
				t.Fatalf("breaker failures %d successes %d, want %d and %d", st.Failures, st.Successes, tc.failures, 2-tc.failures)
			}
		})
	}
}

func TestRetryA6(t *testing.T) {
	t.Run("retryable code retried until success", func(t *testing.T) {
		var n atomic.Int32
		ts := (&testServer{unary: func(_ context.Context, r *testpb.Request) (*testpb.Reply, error) {
			if n.Add(1) <= 2 {
				return nil, status.Error(codes.Unavailable, "not yet")
			}
			return &testpb.Reply{Text: r.GetText()}, nil
		}}).start(t, "")
		b := breaker.New("retry", breaker.Settings{FailureThreshold: 100})
		ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Breaker: b,
			Retry: RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond}})
		if _, err := testpb.NewTestClient(ch).Unary(bounded(t), &testpb.Request{Text: "r"}); err != nil {
			t.Fatal(err)
		}
		st := ch.Stats()
		if ts.calls.Load() != 3 || st.Retries != 2 || st.Codes["OK"] != 1 || st.Calls != 1 {
			t.Fatalf("server calls %d, stats %+v: want 3 attempts, 2 retries, one OK call", ts.calls.Load(), st)
		}
		if bs := b.Stats(); bs.Failures != 2 || bs.Successes != 1 {
			t.Fatalf("breaker saw %d failures, %d successes; want each attempt: 2 and 1", bs.Failures, bs.Successes)
		}
	})
	t.Run("attempts capped", func(t *testing.T) {
		cs := &codeServer{}
		cs.code.Store(uint32(codes.Unavailable))
		ts := (&testServer{unary: cs.handle}).start(t, "")
		ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Retry: RetryPolicy{MaxAttempts: 4, InitialBackoff: time.Millisecond, MaxTokens: 100}})
		_, err := testpb.NewTestClient(ch).Unary(bounded(t), &testpb.Request{})
		if status.Code(err) != codes.Unavailable || ts.calls.Load() != 4 {
			t.Fatalf("err %v after %d attempts, want Unavailable after 4", err, ts.calls.Load())
		}
	})
	t.Run("unlisted code not retried", func(t *testing.T) {
		cs := &codeServer{}
		cs.code.Store(uint32(codes.Internal))
		ts := (&testServer{unary: cs.handle}).start(t, "")
		ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Retry: RetryPolicy{MaxAttempts: 5, InitialBackoff: time.Millisecond}})
		_, err := testpb.NewTestClient(ch).Unary(bounded(t), &testpb.Request{})
		if status.Code(err) != codes.Internal || ts.calls.Load() != 1 {
			t.Fatalf("err %v after %d attempts, want Internal after 1", err, ts.calls.Load())
		}
	})
	t.Run("token bucket throttles retries", func(t *testing.T) {
		cs := &codeServer{}
		cs.code.Store(uint32(codes.Unavailable))
		ts := (&testServer{unary: cs.handle}).start(t, "")
		ch := newChannel(t, Config{Endpoints: []string{ts.addr},
			Retry: RetryPolicy{MaxAttempts: 5, InitialBackoff: time.Millisecond, MaxTokens: 4, TokenRatio: 0.5}})
		client := testpb.NewTestClient(ch)
		// Tokens 4, threshold 2: the first call fails (3 left: retry), fails
		// again (2 left: no more retries); the second call fails once (1).
		_, _ = client.Unary(bounded(t), &testpb.Request{})
		if got := ts.calls.Load(); got != 2 {
			t.Fatalf("first call made %d attempts, want 2", got)
		}
		_, _ = client.Unary(bounded(t), &testpb.Request{})
		if got := ts.calls.Load(); got != 3 {
			t.Fatalf("second call made %d attempts, want 1", got-2)
		}
		st := ch.Stats()
		if st.Throttled != 2 || st.Retries != 1 || st.RetryTokens != 1 {
			t.Fatalf("stats %+v, want 2 throttled, 1 retry, 1 token", st)
		}
		// Successes refill by TokenRatio: 1 → 3 after four of them, and a
		// retry is allowed again (3 > 2).
		cs.code.Store(uint32(codes.OK))
		for range 4 {
			if _, err := client.Unary(bounded(t), &testpb.Request{}); err != nil {
				t.Fatal(err)
			}
		}
		if st := ch.Stats(); st.RetryTokens != 3 {
			t.Fatalf("tokens %v after 4 successes, want 3", st.RetryTokens)
		}
	})
}

// reserveAddr returns a loopback address nothing listens on.
func reserveAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestServerDownAtStart(t *testing.T) {
	addr := reserveAddr(t)
	clk := newFakeClock()
	b := breaker.New("down", breaker.Settings{FailureThreshold: 3, RecoveryTimeout: time.Second, Clock: clk})
	tr := watch(b)
	ch := newChannel(t, Config{Endpoints: []string{addr}, Breaker: b, Retry: RetryPolicy{MaxAttempts: 1},
		ReconnectBase: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond})
	client := testpb.NewTestClient(ch)
	ctx := bounded(t)

	for i := range 3 {
		start := time.Now()
		_, err := client.Unary(ctx, &testpb.Request{})
		if status.Code(err) != codes.Unavailable || errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("call %d: %v, want Unavailable from grpc-go", i, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("call %d took %v: not failing fast", i, d)
		}
	}
	_, err := client.Unary(ctx, &testpb.Request{})
	if !errors.Is(err, breaker.ErrOpen) || status.Code(err) != codes.Unavailable {
		t.Fatalf("4th call: %v, want breaker.ErrOpen with status Unavailable", err)
	}
	if st := b.Stats(); st.Failures != 3 || st.Rejections != 1 {
		t.Fatalf("breaker %+v, want 3 failures and 1 rejection", st)
	}

	ts := (&testServer{}).start(t, addr)
	clk.Advance(time.Second)
	// The probe waits for the conn to come back (grpc-go reconnects with
	// its backoff), then succeeds and closes the breaker.
	r, err := client.Unary(ctx, &testpb.Request{Text: "up"}, grpc.WaitForReady(true))
	if err != nil || r.GetText() != "up" {
		t.Fatalf("call once up: %v, %v", r, err)
	}
	if got, want := tr.get(), []string{"closed", "open", "half_open", "closed"}; !equal(got, want) {
		t.Fatalf("breaker states %v, want %v", got, want)
	}
	if ts.calls.Load() != 1 {
		t.Fatalf("server saw %d calls, want 1", ts.calls.Load())
	}
}

func TestUnavailableBurstOpensAndRecovers(t *testing.T) {
	cs := &codeServer{}
	ts := (&testServer{unary: cs.handle}).start(t, "")
	clk := newFakeClock()
	b := breaker.New("burst", breaker.Settings{FailureThreshold: 5, RecoveryTimeout: time.Second, Clock: clk})
	tr := watch(b)
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Breaker: b, Retry: RetryPolicy{MaxAttempts: 1}})
	client := testpb.NewTestClient(ch)
	ctx := bounded(t)
	if _, err := client.Unary(ctx, &testpb.Request{}); err != nil {
		t.Fatal(err)
	}
	cs.code.Store(uint32(codes.Unavailable))
	for range 5 {
		if _, err := client.Unary(ctx, &testpb.Request{}); status.Code(err) != codes.Unavailable || errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("burst call: %v", err)
		}
	}
	for range 10 {
		if _, err := client.Unary(ctx, &testpb.Request{}); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("call while open: %v, want ErrOpen", err)
		}
	}
	if got := ts.calls.Load(); got != 6 {
		t.Fatalf("server saw %d calls, want 6: none while the breaker is open", got)
	}
	// Still failing when the breaker probes: it opens again.
	clk.Advance(time.Second)
	if _, err := client.Unary(ctx, &testpb.Request{}); status.Code(err) != codes.Unavailable || errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("failed probe: %v", err)
	}
	cs.code.Store(uint32(codes.OK))
	clk.Advance(time.Second)
	if _, err := client.Unary(ctx, &testpb.Request{}); err != nil {
		t.Fatalf("probe after the burst: %v", err)
	}
	want := []string{"closed", "open", "half_open", "open", "half_open", "closed"}
	if got := tr.get(); !equal(got, want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	if st := ch.Stats(); st.Rejected != 10 || st.Codes["Unavailable"] != 16 || st.Codes["OK"] != 2 {
		t.Fatalf("stats %+v, want 10 rejected, 16 Unavailable, 2 OK", st)
	}
}

func TestStreamCutMidway(t *testing.T) {
	sent := make(chan struct{})
	ts := &testServer{}
	ts.serverStream = func(r *testpb.Request, s grpc.ServerStreamingServer[testpb.Reply]) error {
		for i := range int32(3) {
			if err := s.Send(&testpb.Reply{Seq: i}); err != nil {
				return err
			}
		}
		close(sent)
		<-s.Context().Done() // parked until the connection is cut
		return nil
	}
	ts.start(t, "")
	b := breaker.New("cut", breaker.Settings{FailureThreshold: 100})
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Breaker: b})
	client := testpb.NewTestClient(ch)
	ctx := bounded(t)
	var seqs []int32
	var last error
	for m, err := range ServerStream(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[testpb.Reply], error) {
		return client.ServerStream(ctx, &testpb.Request{Count: 10})
	}) {
		if err != nil {
			last = err
			break
		}
		seqs = append(seqs, m.GetSeq())
		if len(seqs) == 3 {
			recv(t, ctx, sent, "the server's third send")
			ts.lis.cut()
		}
	}
	if len(seqs) != 3 || status.Code(last) != codes.Unavailable {
		t.Fatalf("got %v then %v, want 3 replies then Unavailable", seqs, last)
	}
	if ctx.Err() != nil {
		t.Fatal("the consumer saw the error only at the test's timeout")
	}
	if st := b.Stats(); st.Failures != 1 {
		t.Fatalf("breaker failures %d, want 1 (the cut stream)", st.Failures)
	}
	if st := ch.Stats(); st.InFlight != 0 || st.Codes["Unavailable"] != 1 {
		t.Fatalf("stats %+v, want nothing in flight and one Unavailable", st)
	}
}

// slowServer's handler reports the deadline it got and how its context
// ended; the work would take 10s.
func slowServer(t *testing.T) (ts *testServer, wire chan time.Duration, seen chan error) {
	seen = make(chan error, 1)
	wire = make(chan time.Duration, 1)
	ts = (&testServer{unary: func(ctx context.Context, _ *testpb.Request) (*testpb.Reply, error) {
		dl, ok := ctx.Deadline()
		if !ok {
			wire <- -1
		} else {
			wire <- time.Until(dl)
		}
		select {
		case <-ctx.Done():
			seen <- ctx.Err()
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
			seen <- nil
			return &testpb.Reply{}, nil
		}
	}}).start(t, "")
	return ts, wire, seen
}

// The default deadline ends the call client-side, whether the caller's
// context is never cancelled (the shared deadline) or cancellable (a timer
// of its own), but is not sent: the server sees no deadline, and its
// context is cancelled when the client resets the stream. The breaker
// counts the DeadlineExceeded.
func TestDefaultTimeoutStaysOffTheWire(t *testing.T) {
	ts, wire, seen := slowServer(t)
	b := breaker.New("default", breaker.Settings{FailureThreshold: 100})
	const timeout = 150 * time.Millisecond
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Timeout: timeout, Breaker: b})
	client := testpb.NewTestClient(ch)
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i, ctx := range []context.Context{context.Background(), cancellable} {
		start := time.Now()
		_, err := client.Unary(ctx, &testpb.Request{})
		took := time.Since(start)
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("call %d: err = %v, want DeadlineExceeded", i, err)
		}
		if took < timeout-timeout/64 || took > 2*time.Second {
			t.Fatalf("call %d returned after %v, want at the %v default deadline", i, took, timeout)
		}
		if left := recv(t, bounded(t), wire, "the server's deadline"); left != -1 {
			t.Fatalf("call %d: server's deadline %v away, want none on the wire", i, left)
		}
		if err := recv(t, bounded(t), seen, "the server's cancellation"); !errors.Is(err, context.Canceled) {
			t.Fatalf("call %d: server's context ended with %v, want Canceled by the client's reset", i, err)
		}
		if st := b.Stats(); st.Failures != uint64(i+1) {
			t.Fatalf("call %d: breaker failures %d, want %d", i, st.Failures, i+1)
		}
	}
}

func TestDeadlineShorterThanServerWork(t *testing.T) {
	ts, wire, seen := slowServer(t)
	b := breaker.New("deadline", breaker.Settings{FailureThreshold: 100})
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Breaker: b})
	client := testpb.NewTestClient(ch)
	const d = 200 * time.Millisecond
	start := time.Now() // before the deadline is set, which counts from WithTimeout
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, err := client.Unary(ctx, &testpb.Request{})
	took := time.Since(start)
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if took < d || took > d+time.Second {
		t.Fatalf("returned after %v, want at the %v deadline", took, d)
	}
	left := recv(t, bounded(t), wire, "the server's deadline")
	if left <= 0 || left > d {
		t.Fatalf("server's deadline was %v away, want within (0, %v]: the deadline travels on the wire", left, d)
	}
	if err := recv(t, bounded(t), seen, "the server's cancellation"); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Fatalf("server's context ended with %v, want a cancellation", err)
	}
	if st := b.Stats(); st.Failures != 1 {
		t.Fatalf("breaker failures %d, want 1: DeadlineExceeded counts", st.Failures)
	}
}

// The breaker's CallTimeout bounds each unary attempt, as breaker.Call
// does: the call fails with DeadlineExceeded matching breaker.ErrTimeout,
// the deadline reaches the server, and the breaker counts a timeout.
func TestBreakerCallTimeoutBoundsUnaryCalls(t *testing.T) {
	ts, wire, seen := slowServer(t)
	const d = 150 * time.Millisecond
	b := breaker.New("slow", breaker.Settings{FailureThreshold: 100, CallTimeout: d})
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, Breaker: b})
	client := testpb.NewTestClient(ch)
	_, err := client.Unary(bounded(t), &testpb.Request{})
	if status.Code(err) != codes.DeadlineExceeded || !errors.Is(err, breaker.ErrTimeout) {
		t.Fatalf("err = %v (%v), want DeadlineExceeded matching breaker.ErrTimeout", err, status.Code(err))
	}
	var te *breaker.TimeoutError
	if !errors.As(err, &te) || te.Name != "slow" || te.Timeout != d {
		t.Fatalf("err = %v, want a *breaker.TimeoutError of breaker slow, %v", err, d)
	}
	if left := recv(t, bounded(t), wire, "the server's deadline"); left <= 0 || left > d {
		t.Fatalf("server's deadline was %v away, want within (0, %v]", left, d)
	}
	recv(t, bounded(t), seen, "the server's cancellation")
	if st := b.Stats(); st.Timeouts != 1 || st.Failures != 1 {
		t.Fatalf("breaker stats %+v, want 1 timeout of 1 failure", st)
	}
}
