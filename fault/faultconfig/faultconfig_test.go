package faultconfig

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/fault"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type clock struct {
	now   time.Time
	slept []time.Duration
}

func (c *clock) Now() time.Time { return c.now }
func (c *clock) Sleep(_ context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func TestOptions(t *testing.T) {
	opts, err := Options(config.FaultTolerance{
		DefaultMaxAttempts: 4,
		DefaultBaseDelay:   config.Duration(time.Second),
		DefaultMaxDelay:    config.Duration(3 * time.Second),
		DefaultJitter:      "false",
	})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Now()}
	calls := 0
	err = fault.Retry(context.Background(), func(context.Context) error { calls++; return errors.New("x") },
		append(opts, fault.WithClock(clk))...)
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
	if !errors.Is(err, fault.ErrExhausted) || calls != 4 || !reflect.DeepEqual(clk.slept, want) {
		t.Fatalf("err %v calls %d slept %v", err, calls, clk.slept)
	}
	if _, err := Options(config.FaultTolerance{DefaultJitter: "sometimes"}); err == nil {
		t.Fatal("bad jitter accepted")
	}
	if _, err := Options(config.FaultTolerance{DefaultMaxAttempts: -1}); err == nil {
		t.Fatal("negative attempts accepted")
	}
	opts, err = Options(config.FaultTolerance{})
	if err != nil || len(opts) != 1 {
		t.Fatalf("zero config: %d options, %v", len(opts), err)
	}
}
