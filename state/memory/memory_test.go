package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/memory"
	"github.com/viable-systems/vsm-connections/state/statetest"
)

func TestSuiteFakeClock(t *testing.T) {
	clk := statetest.NewClock(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	statetest.Run(t, func(t *testing.T) state.Store {
		return memory.New(memory.WithClock(clk.Now))
	}, statetest.WithClock(clk))
}

// The real-time variant runs the same polling paths the Redis backend uses.
func TestSuiteRealClock(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store { return memory.New() })
}

func TestSubscriptionDropsWhenFull(t *testing.T) {
	st := memory.New(memory.WithSubscriptionBuffer(2))
	defer st.Close()
	ctx := context.Background()
	release := make(chan struct{})
	got := make(chan string, 8)
	sub, err := st.Subscribe(ctx, "c", func(m state.Message) {
		<-release
		got <- string(m.Payload)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	// The first message is taken by the handler (blocked); it may or may not
	// have left the queue yet, so publish until one is dropped.
	dropper := sub.(interface{ Dropped() uint64 })
	i := 0
	for dropper.Dropped() == 0 {
		if err := st.Publish(ctx, "c", []byte{byte('a' + i)}); err != nil {
			t.Fatal(err)
		}
		i++
		if i > 10 {
			t.Fatalf("nothing dropped after %d publishes into a queue of 2", i)
		}
	}
	close(release)
	// The kept messages come in order, starting with the first.
	first := <-got
	if first != "a" {
		t.Fatalf("first delivered %q", first)
	}
}

func TestCanceledContext(t *testing.T) {
	st := memory.New()
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.Set(ctx, "k", 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Set with canceled ctx = %v", err)
	}
}

func TestPipelineArgs(t *testing.T) {
	st := memory.New()
	defer st.Close()
	ctx := context.Background()
	res, err := st.Pipeline(ctx,
		state.Command(),
		state.Command("GET"),
		state.Command("SET", "k", struct{}{}),
		state.Command("set", "k", "v", "px", 1500),
		state.Command("SET", "k", "v", "NX", 1),
		state.Command("PEXPIRE", "k", 10),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[0].Err, state.ErrUnsupported) || res[1].Err == nil || res[2].Err == nil ||
		res[3].Err != nil || !errors.Is(res[4].Err, state.ErrUnsupported) || res[5].Err != nil {
		t.Fatalf("results = %+v", res)
	}
}
