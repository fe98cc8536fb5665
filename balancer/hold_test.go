package balancer

import (
	"errors"
	"testing"
	"time"
)

func pickCount(t *testing.T, b *Balancer, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		e, err := b.Pick()
		if err != nil {
			t.Fatalf("Pick: %v", err)
		}
		got[e.Addr]++
		e.Done(nil)
	}
	return got
}

// Hold keeps an endpoint out of rotation until Release, across the end of
// an outlier ejection, and every endpoint held leaves none to pick.
func TestHoldAndRelease(t *testing.T) {
	var c clock
	b, err := New([]string{"a:1", "b:1"}, Config{ConsecutiveFailures: 1, BaseEjectionTime: time.Second, MaxEjectionPercent: 100, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := b.Hold("a:1"); !changed || err != nil {
		t.Fatalf("Hold = %v, %v", changed, err)
	}
	if changed, _ := b.Hold("a:1"); changed {
		t.Fatal("second Hold changed something")
	}
	if got := pickCount(t, b, 4); got["b:1"] != 4 {
		t.Fatalf("picks while a:1 held = %v", got)
	}
	// a:1 also ejected by outlier detection; held still after it ends.
	b.eject(func() *Endpoint { e := b.snap.Load().all[0]; e.consecutive.Store(1); return e }())
	st := b.Endpoints()
	if !st[0].Held || !st[0].Ejected || st[1].Held {
		t.Fatalf("stats = %+v", st)
	}
	c.advance(2 * time.Second)
	b.Tick(c.now())
	if got := pickCount(t, b, 2); got["b:1"] != 2 {
		t.Fatalf("picks after the ejection ended = %v", got)
	}
	if _, err := b.Hold("b:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Pick(); !errors.Is(err, ErrNoEndpoint) {
		t.Fatalf("Pick with all held = %v, want ErrNoEndpoint", err)
	}
	if changed, err := b.Release("a:1"); !changed || err != nil {
		t.Fatalf("Release = %v, %v", changed, err)
	}
	if got := pickCount(t, b, 2); got["a:1"] != 2 {
		t.Fatalf("picks after Release(a:1) = %v", got)
	}
	if _, err := b.Release("c:1"); !errors.Is(err, ErrUnknownEndpoint) {
		t.Fatalf("Release(c:1) = %v, want ErrUnknownEndpoint", err)
	}
}
