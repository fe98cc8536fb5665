package vsm_test

import (
	"context"
	"sync"
	"testing"

	"github.com/viable-systems/vsm-connections/algedonic"
)

// The node's channel posts to S5's lane: by the time Raise returns, S5 has
// counted the alert and run its reactions, in order, without waiting for
// S5's actor to be scheduled.
func TestRaiseHandledBeforeItReturns(t *testing.T) {
	n := startNode(t, nil)
	var mu sync.Mutex
	var seen []string
	if err := n.AddReaction(context.Background(), "t", func(a *algedonic.Alert) {
		mu.Lock()
		seen = append(seen, a.Reason)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	for i, reason := range []string{"one", "two", "three"} {
		if err := n.Raise(algedonic.Critical, "t", reason); err != nil {
			t.Fatal(err)
		}
		if got := n.AlertCount(algedonic.Critical); got != uint64(i+1) {
			t.Fatalf("AlertCount right after Raise %d = %d, want %d", i+1, got, i+1)
		}
		mu.Lock()
		ok := len(seen) == i+1 && seen[i] == reason
		got := append([]string(nil), seen...)
		mu.Unlock()
		if !ok {
			t.Fatalf("reactions saw %v right after Raise(%q)", got, reason)
		}
	}
}
