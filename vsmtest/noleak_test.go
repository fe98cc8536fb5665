package vsmtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestNoGoroutineLeft exercises every fault, closes the service and checks
// that no goroutine it started (server, handlers, connections, the
// client's idle connections) is left.
func TestNoGoroutineLeft(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m, err := StartMockService(WithTLS())
	if err != nil {
		t.Fatal(err)
	}
	c := m.Client()
	get := func(timeout time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", m.URL(), nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	get(5 * time.Second)
	m.ResetNext(1)
	get(5 * time.Second)
	m.ResetBodyNext(1)
	get(5 * time.Second)
	m.OversizeBody(1 << 20)
	get(5 * time.Second)
	m.Heal()
	m.Latency(time.Hour)
	get(200 * time.Millisecond)
	m.Heal()
	m.Hang()
	get(200 * time.Millisecond)
	n := m.Requests()
	done := make(chan struct{})
	go func() { get(time.Hour); close(done) }() // released by Kill
	if err := m.WaitRequests(ctx10s(t), n+1); err != nil {
		t.Fatal(err)
	}
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	m.Heal()
	get(5 * time.Second)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}
