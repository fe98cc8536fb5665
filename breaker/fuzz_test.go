package breaker

import (
	"context"
	"testing"
	"time"
)

// FuzzStateMachine drives a breaker with a sequence of operations and
// checks invariants after each: transitions chain (each From is the
// previous To), generations increase, the probe limit holds and no probe
// slot leaks.
func FuzzStateMachine(f *testing.F) {
	f.Add([]byte{1, 1, 1, 1, 1, 2, 0, 0}, false)
	f.Add([]byte{1, 1, 1, 1, 1, 2, 6, 6, 1, 7, 7, 0}, true)
	f.Add([]byte{3, 2, 2, 4, 1, 5, 6, 3, 7, 2, 0}, true)
	f.Add([]byte{6, 6, 6, 1, 1, 1, 1, 1, 2, 7, 7, 7, 0}, false)
	f.Fuzz(func(t *testing.T, ops []byte, rate bool) {
		clk := newFakeClock()
		var trs []Transition
		s := Settings{FailureThreshold: 3, RecoveryTimeout: time.Second, HalfOpenMaxCalls: 2, SuccessThreshold: 2,
			MinimumCalls: 3, WindowSize: 5, Clock: clk, OnTransition: func(tr Transition) { trs = append(trs, tr) }}
		if rate {
			s.Mode = Rate
		}
		b := New("fuzz", s)
		ctx := context.Background()
		var held []Token
		for _, op := range ops {
			switch op % 8 {
			case 0:
				b.Call(ctx, ok)
			case 1:
				b.Call(ctx, fail)
			case 2:
				clk.Advance(600 * time.Millisecond)
			case 3:
				b.Open()
			case 4:
				b.Close()
			case 5:
				b.Reset()
			case 6:
				if tok, err := b.Allow(); err == nil {
					held = append(held, tok)
				}
			case 7:
				if len(held) > 0 {
					held[0].Done(ctx, errBoom)
					held = held[1:]
				}
			}
			st := b.Stats()
			if st.HalfOpenInFlight < 0 || st.HalfOpenInFlight > 2 {
				t.Fatalf("in flight %d", st.HalfOpenInFlight)
			}
			if st.Calls != st.Successes+st.Failures+st.Ignored {
				t.Fatalf("calls %d != %d+%d+%d", st.Calls, st.Successes, st.Failures, st.Ignored)
			}
		}
		for _, tok := range held {
			tok.Done(ctx, nil)
		}
		if st := b.Stats(); st.HalfOpenInFlight != 0 {
			t.Fatalf("probe slots leaked: %d", st.HalfOpenInFlight)
		}
		prev := Closed
		var gen uint64
		for _, tr := range trs {
			if tr.From != prev || tr.From == tr.To || tr.Generation <= gen {
				t.Fatalf("broken chain at %+v (prev %v gen %d)", tr, prev, gen)
			}
			prev, gen = tr.To, tr.Generation
		}
		if prev != b.State() {
			t.Fatalf("last transition to %v, state %v", prev, b.State())
		}
	})
}
