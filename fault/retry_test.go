package fault

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/breaker"
)

// fakeClock records the delays Retry asks for and advances at once.
type fakeClock struct {
	now    time.Time
	slept  []time.Duration
	during func() // runs inside Sleep, before it returns
}

func newFake() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	if c.during != nil {
		c.during()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.now = c.now.Add(d)
	return nil
}

var errBoom = errors.New("boom")

// failing returns a fn that fails n times with err, then succeeds, and a
// pointer to its number of calls.
func failing(n int, err error) (func(context.Context) error, *int) {
	calls := 0
	return func(context.Context) error {
		calls++
		if calls <= n {
			return err
		}
		return nil
	}, &calls
}

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestBackoffSequences(t *testing.T) {
	cases := []struct {
		backoff Backoff
		want    []time.Duration
	}{
		{Exponential, ms(100, 200, 400, 800, 1000, 1000)},
		{Linear, ms(100, 200, 300, 400, 500, 600)},
		{Constant, ms(100, 100, 100, 100, 100, 100)},
	}
	for _, tc := range cases {
		t.Run(tc.backoff.String(), func(t *testing.T) {
			clk := newFake()
			fn, calls := failing(100, errBoom)
			err := Retry(context.Background(), fn, MaxAttempts(7), BaseDelay(100*time.Millisecond),
				MaxDelay(time.Second), WithBackoff(tc.backoff), WithJitter(NoJitter), WithClock(clk))
			var ex *ExhaustedError
			if !errors.As(err, &ex) || ex.Attempts != 7 || !errors.Is(err, ErrExhausted) || !errors.Is(err, errBoom) {
				t.Fatalf("err = %v", err)
			}
			if *calls != 7 || !reflect.DeepEqual(clk.slept, tc.want) {
				t.Fatalf("calls %d slept %v, want %v", *calls, clk.slept, tc.want)
			}
		})
	}
}

// seq returns a rand func that yields vs in turn.
func seq(vs ...float64) func() float64 {
	i := 0
	return func() float64 { v := vs[i%len(vs)]; i++; return v }
}

func TestJitter(t *testing.T) {
	run := func(j Jitter, r func() float64) []time.Duration {
		clk := newFake()
		fn, _ := failing(100, errBoom)
		Retry(context.Background(), fn, MaxAttempts(5), BaseDelay(100*time.Millisecond), MaxDelay(time.Second),
			WithJitter(j), WithClock(clk), WithRand(r))
		return clk.slept
	}
	cases := []struct {
		name string
		j    Jitter
		r    func() float64
		want []time.Duration
	}{
		// Full: r × d, d = 100, 200, 400, 800.
		{"full/quarter", FullJitter, seq(0.25), ms(25, 50, 100, 200)},
		{"full/low", FullJitter, seq(0), ms(0, 0, 0, 0)},
		// Equal: d/2 + r × d/2.
		{"equal/quarter", EqualJitter, seq(0.25), []time.Duration{62500 * time.Microsecond, 125 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond}},
		{"equal/low", EqualJitter, seq(0), ms(50, 100, 200, 400)},
		// Decorrelated: base + r × (min(3 × prev, max) - base), prev starting at base.
		// r=0.5: 100+0.5×(300-100)=200; 100+0.5×(600-100)=350;
		// 100+0.5×(min(1050,1000)-100)=550; again 550.
		{"decorrelated/half", DecorrelatedJitter, seq(0.5), ms(200, 350, 550, 550)},
		{"decorrelated/low", DecorrelatedJitter, seq(0), ms(100, 100, 100, 100)},
		{"none", NoJitter, seq(0.5), ms(100, 200, 400, 800)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(tc.j, tc.r); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("slept %v, want %v", got, tc.want)
			}
		})
	}
	// Bounds with the highest value rand can give.
	const top = 0.9999999
	for _, j := range []Jitter{FullJitter, EqualJitter, DecorrelatedJitter} {
		got := run(j, seq(top))
		for i, d := range got {
			hi := []time.Duration{100, 200, 400, 800}[i] * time.Millisecond
			if j == DecorrelatedJitter {
				hi = time.Second
			}
			if d >= hi || d < 0 {
				t.Fatalf("%v: delay %d = %v, want below %v", j, i, d, hi)
			}
		}
	}
}

func TestDefaultsWithRealRand(t *testing.T) {
	clk := newFake()
	fn, calls := failing(100, errBoom)
	err := Retry(context.Background(), fn, WithClock(clk))
	if !errors.Is(err, ErrExhausted) || *calls != DefaultMaxAttempts || len(clk.slept) != 2 {
		t.Fatalf("err %v calls %d slept %v", err, *calls, clk.slept)
	}
	if clk.slept[0] >= DefaultBaseDelay || clk.slept[1] >= 2*DefaultBaseDelay {
		t.Fatalf("full jitter out of bounds: %v", clk.slept)
	}
}

func TestSucceedsAfterFailures(t *testing.T) {
	clk := newFake()
	fn, calls := failing(2, errBoom)
	var seen []string
	err := Retry(context.Background(), fn, WithClock(clk), WithJitter(NoJitter), MaxAttempts(0),
		OnRetry(func(attempt int, err error, next time.Duration) {
			seen = append(seen, fmt.Sprintf("%d:%v:%v", attempt, err, next))
		}))
	if err != nil || *calls != 3 {
		t.Fatalf("err %v calls %d", err, *calls)
	}
	if want := []string{"1:boom:100ms", "2:boom:200ms"}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("OnRetry saw %q", seen)
	}
	v, err := Do(context.Background(), func(context.Context) (int, error) { return 42, nil })
	if v != 42 || err != nil {
		t.Fatal(v, err)
	}
	v, err = Do(context.Background(), func(context.Context) (int, error) { return 7, Permanent(errBoom) })
	if v != 0 || err != errBoom {
		t.Fatal(v, err)
	}
}

func TestClassifier(t *testing.T) {
	errTemp := errors.New("temporary")
	errOther := errors.New("other")
	cases := []struct {
		name      string
		err       error
		opts      []Option
		wantCalls int
		wantErr   error // the exact error returned when not retried
	}{
		{"default retries", errBoom, nil, 3, nil},
		{"breaker open not retried", fmt.Errorf("call: %w", breaker.ErrOpen), nil, 1, nil},
		{"rejection not retried", &breaker.RejectedError{Name: "x", State: breaker.Open}, nil, 1, nil},
		{"permanent not retried", Permanent(errBoom), nil, 1, errBoom},
		{"RetryOn match", fmt.Errorf("wrapped: %w", errTemp), []Option{RetryOn(errTemp)}, 3, nil},
		{"RetryOn miss", errOther, []Option{RetryOn(errTemp)}, 1, errOther},
		{"RetryIf", errOther, []Option{RetryIf(func(err error) bool { return err == errOther })}, 3, nil},
		{"RetryIf or RetryOn", errTemp, []Option{RetryOn(errTemp), RetryIf(func(error) bool { return false })}, 3, nil},
		{"RetryIf can allow ErrOpen", breaker.ErrOpen, []Option{RetryIf(func(error) bool { return true })}, 3, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fn, calls := failing(100, tc.err)
			err := Retry(context.Background(), fn, append(tc.opts, WithClock(newFake()))...)
			if *calls != tc.wantCalls {
				t.Fatalf("calls %d, want %d (err %v)", *calls, tc.wantCalls, err)
			}
			switch {
			case tc.wantCalls > 1 && !errors.Is(err, ErrExhausted):
				t.Fatalf("err %v", err)
			case tc.wantCalls == 1 && tc.wantErr != nil && err != tc.wantErr:
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			case tc.wantCalls == 1 && tc.wantErr == nil && err != tc.err:
				t.Fatalf("err %v, want %v unchanged", err, tc.err)
			}
		})
	}
	if !IsPermanent(fmt.Errorf("x: %w", Permanent(errBoom))) || IsPermanent(errBoom) || Permanent(nil) != nil {
		t.Fatal("IsPermanent")
	}
}

type retryAfterErr struct{ d time.Duration }

func (e retryAfterErr) Error() string             { return "429" }
func (e retryAfterErr) RetryAfter() time.Duration { return e.d }

func TestRetryAfterHint(t *testing.T) {
	clk := newFake()
	errs := []error{fmt.Errorf("get: %w", retryAfterErr{700 * time.Millisecond}), retryAfterErr{0}, nil}
	i := 0
	err := Retry(context.Background(), func(context.Context) error { i++; return errs[i-1] },
		WithClock(clk), WithRand(seq(0.5)), MaxDelay(time.Second))
	// The hint wins over backoff and jitter; a zero hint falls back to the
	// backoff (200ms with full jitter at 0.5 = 100ms).
	if err != nil || !reflect.DeepEqual(clk.slept, []time.Duration{700 * time.Millisecond, 100 * time.Millisecond}) {
		t.Fatalf("err %v slept %v", err, clk.slept)
	}
}

// A hint never stretches a wait past MaxDelay unless MaxRetryAfter opts
// in, and then only up to its own cap.
func TestRetryAfterHintCapped(t *testing.T) {
	day := retryAfterErr{24 * time.Hour}
	for _, tc := range []struct {
		name string
		opts []Option
		want time.Duration
	}{
		{"default cap is MaxDelay", []Option{MaxDelay(time.Second)}, time.Second},
		{"default MaxDelay", nil, DefaultMaxDelay},
		{"MaxDelay set after the cap still caps", []Option{MaxRetryAfter(0), MaxDelay(2 * time.Second)}, 2 * time.Second},
		{"opt in up to an hour", []Option{MaxDelay(time.Second), MaxRetryAfter(time.Hour)}, time.Hour},
		{"opt in beyond the hint", []Option{MaxRetryAfter(48 * time.Hour)}, 24 * time.Hour},
		{"cap below MaxDelay", []Option{MaxDelay(time.Minute), MaxRetryAfter(3 * time.Second)}, 3 * time.Second},
	} {
		clk := newFake()
		fn, calls := failing(2, day)
		err := Retry(context.Background(), fn, append([]Option{WithClock(clk), MaxAttempts(3)}, tc.opts...)...)
		if err != nil || *calls != 3 || !reflect.DeepEqual(clk.slept, []time.Duration{tc.want, tc.want}) {
			t.Errorf("%s: err %v calls %d slept %v, want 2 x %v", tc.name, err, *calls, clk.slept, tc.want)
		}
	}
}

func TestNeverSleepsPastDeadline(t *testing.T) {
	clk := newFake()
	// The fake clock starts at the real time, so this deadline is far away
	// in real time and only the fake delays can reach it.
	ctx, cancel := context.WithDeadline(context.Background(), clk.now.Add(25*time.Minute))
	defer cancel()
	fn, calls := failing(100, errBoom)
	err := Retry(ctx, fn, MaxAttempts(10), BaseDelay(10*time.Minute), MaxDelay(time.Hour), WithJitter(NoJitter), WithClock(clk))
	var ie *InterruptedError
	if !errors.As(err, &ie) || ie.Attempts != 2 || !errors.Is(err, ErrDeadline) ||
		!errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errBoom) {
		t.Fatalf("err = %v", err)
	}
	// 10 min, then the next 20 min would end at 30 min > 25: no second sleep.
	if *calls != 2 || !reflect.DeepEqual(clk.slept, []time.Duration{10 * time.Minute}) {
		t.Fatalf("calls %d slept %v", *calls, clk.slept)
	}
}

func TestStopsWhenCancelled(t *testing.T) {
	// Cancelled during a delay: stop at once.
	ctx, cancel := context.WithCancel(context.Background())
	clk := newFake()
	clk.during = cancel
	fn, calls := failing(100, errBoom)
	err := Retry(ctx, fn, MaxAttempts(5), WithClock(clk))
	var ie *InterruptedError
	if !errors.As(err, &ie) || ie.Attempts != 1 || !errors.Is(err, context.Canceled) || !errors.Is(err, errBoom) || *calls != 1 {
		t.Fatalf("err %v calls %d", err, *calls)
	}
	// Already cancelled: fn never runs.
	fn, calls = failing(0, nil)
	if err := Retry(ctx, fn); err != context.Canceled || *calls != 0 {
		t.Fatalf("err %v calls %d", err, *calls)
	}
	// Cancelled by fn's own attempt: no further attempt.
	ctx2, cancel2 := context.WithCancel(context.Background())
	n := 0
	err = Retry(ctx2, func(ctx context.Context) error { n++; cancel2(); return ctx.Err() }, WithClock(newFake()))
	if n != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("n %d err %v", n, err)
	}
}

func TestRealSleepStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Retry(ctx, func(context.Context) error { return errBoom },
			BaseDelay(time.Hour), WithJitter(NoJitter),
			OnRetry(func(int, error, time.Duration) { cancel() }))
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errBoom) {
			t.Fatalf("err %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Retry slept through the cancellation")
	}
}

func TestParseJitter(t *testing.T) {
	for in, want := range map[string]Jitter{"": FullJitter, "true": FullJitter, "full": FullJitter, "equal": EqualJitter,
		"decorrelated": DecorrelatedJitter, "none": NoJitter, "false": NoJitter} {
		if got, err := ParseJitter(in); err != nil || got != want {
			t.Fatalf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseJitter("some"); err == nil {
		t.Fatal("accepted")
	}
}

func TestBackoffSaturates(t *testing.T) {
	c := newConfig([]Option{BaseDelay(time.Second), MaxDelay(time.Duration(1<<63 - 1))})
	if d := c.backoffDelay(80); d != time.Duration(1<<63-1) {
		t.Fatal(d)
	}
	c = newConfig([]Option{BaseDelay(time.Second), MaxDelay(time.Millisecond)})
	if d := c.backoffDelay(1); d != time.Second {
		t.Fatalf("MaxDelay below BaseDelay: %v", d)
	}
}
