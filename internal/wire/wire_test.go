package wire

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errA, errB = errors.New("a"), errors.New("b")

// multi matches errA and context.DeadlineExceeded, as a pool's attempt
// timeout matches ErrTimeout and the deadline.
type multi struct{}

func (multi) Error() string { return "multi" }
func (multi) Is(t error) bool {
	return t == errA || t == context.DeadlineExceeded
}

func TestEncodeDecode(t *testing.T) {
	table := Table(Kind{"a", errA}, Kind{"b", errB})
	if Encode(nil, table) != nil || Decode(nil, table) != nil {
		t.Fatal("nil must stay nil")
	}
	e := Encode(fmt.Errorf("wrapped: %w", multi{}), table)
	if e.Message != "wrapped: multi" || len(e.Kinds) != 2 || e.Kinds[0] != "a" || e.Kinds[1] != "context.deadline_exceeded" {
		t.Fatalf("encoded %v", e)
	}
	e.Kinds = append(e.Kinds, "unknown.kind")
	got := Decode(e, table)
	if got.Error() != "wrapped: multi" || !errors.Is(got, errA) || !errors.Is(got, context.DeadlineExceeded) ||
		errors.Is(got, errB) || errors.Is(got, context.Canceled) {
		t.Fatalf("decoded %v", got)
	}
}

func TestTimes(t *testing.T) {
	if Nanos(time.Time{}) != 0 || !Time(0).IsZero() {
		t.Fatal("zero time must be 0")
	}
	now := time.Now()
	if !Time(Nanos(now)).Equal(now) {
		t.Fatal("round trip")
	}
}
