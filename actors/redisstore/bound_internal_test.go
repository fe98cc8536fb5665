package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/config"
)

type ctxKey struct{}

func TestBound(t *testing.T) {
	const timeout = 640 * time.Millisecond // renewal every 10ms
	st, err := New(config.Redis{URL: "redis://127.0.0.1:1", Timeout: config.Duration(timeout)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	start := time.Now()
	a, _ := st.bound(context.Background())
	b, _ := st.bound(context.Background())
	d, ok := a.Deadline()
	if !ok || d.Before(start.Add(timeout-10*time.Millisecond)) || d.After(time.Now().Add(timeout)) {
		t.Fatalf("shared deadline %v not within [timeout-renewal, timeout] of now", time.Until(d))
	}
	if db, _ := b.Deadline(); !db.Equal(d) && time.Since(start) < 10*time.Millisecond {
		t.Fatalf("two calls within the renewal period got different deadlines")
	}

	withValue := context.WithValue(context.Background(), ctxKey{}, "v")
	c, _ := st.bound(withValue)
	if c.Value(ctxKey{}) != "v" {
		t.Fatal("values lost")
	}
	if _, ok := c.Deadline(); !ok || c.Done() == nil {
		t.Fatal("no deadline on a values-only context")
	}

	parent, cancel := context.WithCancel(context.Background())
	own, release := st.bound(parent)
	defer release()
	cancel()
	select {
	case <-own.Done():
	case <-time.After(time.Second):
		t.Fatal("canceling the caller's context did not cancel the call's")
	}
	if _, ok := own.Deadline(); !ok {
		t.Fatal("no deadline on a cancelable context")
	}

	short, cancelShort := context.WithTimeout(context.Background(), time.Millisecond*10)
	defer cancelShort()
	if got, _ := st.bound(short); got != short {
		t.Fatal("a sooner caller deadline was replaced")
	}

	// The shared context does end at its deadline.
	select {
	case <-a.Done():
		if el := time.Since(start); el > timeout+200*time.Millisecond {
			t.Fatalf("shared context ended after %v", el)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shared context never ended")
	}
}
