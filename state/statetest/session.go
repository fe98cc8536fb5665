package statetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/session"
)

func (h *harness) sessions(ttl time.Duration, sliding bool) *session.Store {
	cfg := session.Config{TTL: ttl, Sliding: sliding, Prefix: h.prefix + "session:"}
	if h.clock != nil {
		cfg.Now = h.clock.Now
	}
	return session.New(h.st, cfg)
}

type profile struct {
	User   string `json:"user"`
	Visits int    `json:"visits"`
}

func testSessions(t *testing.T, h *harness) {
	nodeA, nodeB := h.sessions(time.Hour, false), h.sessions(time.Hour, false)
	s, err := nodeA.Create(h.ctx, profile{User: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ID) != 43 || !s.Expires.Equal(s.Created.Add(time.Hour)) {
		t.Fatalf("Create = %+v", s)
	}
	// Another node sees it: all state is in the backend.
	got, err := nodeB.Get(h.ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	var p profile
	if err := got.Decode(&p); err != nil || p != (profile{User: "ann"}) || got.ID != s.ID {
		t.Fatalf("Get on node B = %+v, %+v, %v", got, p, err)
	}
	if err := nodeB.Put(h.ctx, s.ID, profile{User: "ann", Visits: 2}); err != nil {
		t.Fatal(err)
	}
	if got, err = nodeA.Get(h.ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := got.Decode(&p); err != nil || p.Visits != 2 {
		t.Fatalf("after Put: %+v, %v", p, err)
	}
	if err := nodeA.Touch(h.ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := nodeB.Delete(h.ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := nodeB.Delete(h.ctx, s.ID); err != nil {
		t.Fatalf("second Delete = %v", err)
	}
	for name, err := range map[string]error{
		"Get":   func() error { _, err := nodeA.Get(h.ctx, s.ID); return err }(),
		"Put":   nodeA.Put(h.ctx, s.ID, profile{}),
		"Touch": nodeA.Touch(h.ctx, s.ID),
		"bogus": func() error { _, err := nodeA.Get(h.ctx, "../../etc*"); return err }(),
	} {
		if !errors.Is(err, state.ErrNotFound) {
			t.Errorf("%s after Delete = %v, want ErrNotFound", name, err)
		}
	}
	// Put never resurrects: nothing was written back.
	if _, err := nodeA.Get(h.ctx, s.ID); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("Get after Put on deleted = %v", err)
	}
	if _, err := nodeA.Create(h.ctx, []byte("not json")); err == nil {
		t.Fatal("Create with non-JSON raw data succeeded")
	}

	ids := make(map[string]bool)
	for i := 0; i < 50; i++ {
		s, err := nodeA.Create(h.ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if ids[s.ID] {
			t.Fatalf("duplicate ID %q", s.ID)
		}
		ids[s.ID] = true
	}
}

func testSessionExpiry(t *testing.T, h *harness) {
	if h.clock == nil {
		testSessionExpiryReal(t, h)
		return
	}
	const ttl = 10 * time.Second
	fixed, sliding := h.sessions(ttl, false), h.sessions(ttl, true)
	get := func(st *session.Store, id string) error { _, err := st.Get(h.ctx, id); return err }

	a, _ := fixed.Create(h.ctx, "a") // read only: expires at ttl
	b, _ := fixed.Create(h.ctx, "b") // Put: keeps its expiry
	c, _ := fixed.Create(h.ctx, "c") // Touch: extended
	d, err := sliding.Create(h.ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(6 * time.Second)
	for _, err := range []error{get(fixed, a.ID), fixed.Put(h.ctx, b.ID, "b2"), fixed.Touch(h.ctx, c.ID), get(sliding, d.ID)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	h.clock.Advance(4 * time.Second) // t=10s
	for name, err := range map[string]error{"read": get(fixed, a.ID), "put": get(fixed, b.ID)} {
		if !errors.Is(err, state.ErrNotFound) {
			t.Errorf("fixed session %s at its TTL: %v, want ErrNotFound", name, err)
		}
	}
	if err := get(fixed, c.ID); err != nil {
		t.Fatalf("touched session at t=10s: %v", err)
	}
	if err := get(sliding, d.ID); err != nil { // extends to t=20s
		t.Fatalf("sliding session at t=10s: %v", err)
	}
	h.clock.Advance(6 * time.Second) // t=16s: c expired at 16s
	if err := get(fixed, c.ID); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("touched session at t=16s: %v, want ErrNotFound", err)
	}
	if err := sliding.Touch(h.ctx, d.ID); err != nil { // to t=26s
		t.Fatal(err)
	}
	h.clock.Advance(10*time.Second - time.Millisecond)
	if err := sliding.Put(h.ctx, d.ID, "d2"); err != nil { // to t≈36s
		t.Fatal(err)
	}
	h.clock.Advance(10 * time.Second)
	if err := get(sliding, d.ID); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("sliding session after its TTL: %v, want ErrNotFound", err)
	}
}

func testSessionExpiryReal(t *testing.T, h *harness) {
	const ttl = 300 * time.Millisecond
	fixed, sliding := h.sessions(ttl, false), h.sessions(ttl, true)
	start := time.Now()
	a, err := fixed.Create(h.ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if gone := h.waitGone(t, h.prefix+"session:"+a.ID); gone.Sub(start) < ttl-10*time.Millisecond {
		t.Fatalf("session gone after %v, before its TTL", gone.Sub(start))
	}
	// A sliding session read every 50ms outlives its TTL; then it expires.
	d, err := sliding.Create(h.ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(h.ctx, 3*ttl)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	reads := 0
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			if _, err := sliding.Get(h.ctx, d.ID); err != nil {
				t.Fatalf("sliding Get after %d reads: %v", reads, err)
			}
			reads++
		}
	}
	h.waitGone(t, h.prefix+"session:"+d.ID)
}
