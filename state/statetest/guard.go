package statetest

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/session"
)

// testGuard: while its gate is shut, a guarded store refuses every call
// with the gate's own error, without reaching the backend; a subscription
// made before keeps delivering; once the gate opens, calls go through.
func testGuard(t *testing.T, h *harness) {
	var shut atomic.Bool
	refusal := &state.UnavailableError{Reason: "test gate shut"}
	g := state.Guard(h.st, state.GateFunc(func() error {
		if shut.Load() {
			return refusal
		}
		return nil
	}))
	ctx, k, ch := h.ctx, h.key("guarded"), h.key("guarded.ch")
	if err := g.Set(ctx, k, 1); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 8)
	sub, err := g.Subscribe(ctx, ch, func(m state.Message) { got <- string(m.Payload) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	sessions := session.New(g, session.Config{Prefix: h.prefix + "gsession:"})
	s, err := sessions.Create(ctx, "data")
	if err != nil {
		t.Fatal(err)
	}

	shut.Store(true)
	var v int
	_, delErr := g.Del(ctx, k)
	_, existsErr := g.Exists(ctx, k)
	_, incrErr := g.Incr(ctx, k)
	_, incrByErr := g.IncrBy(ctx, k, 2)
	_, expireErr := g.Expire(ctx, k, 0)
	_, pipeErr := g.Pipeline(ctx, state.Command("DEL", k))
	_, subErr := g.Subscribe(ctx, ch, func(state.Message) {})
	_, sessErr := sessions.Get(ctx, s.ID)
	txRan := false
	for name, err := range map[string]error{
		"Get":          g.Get(ctx, k, &v),
		"Set":          g.Set(ctx, k, 2),
		"Del":          delErr,
		"Exists":       existsErr,
		"Incr":         incrErr,
		"IncrBy":       incrByErr,
		"Expire":       expireErr,
		"Publish":      g.Publish(ctx, ch, []byte("refused")),
		"Subscribe":    subErr,
		"Pipeline":     pipeErr,
		"Ping":         g.Ping(ctx),
		"Transaction":  g.Transaction(ctx, []string{k}, func(state.Tx) error { txRan = true; return nil }),
		"session.Get":  sessErr,
		"session.Put":  sessions.Put(ctx, s.ID, "other"),
		"session.Drop": sessions.Delete(ctx, s.ID),
	} {
		if err != refusal && !errors.Is(err, refusal) {
			t.Errorf("%s with the gate shut = %v, want the gate's refusal", name, err)
		}
		if !errors.Is(err, state.ErrUnavailable) {
			t.Errorf("%s with the gate shut = %v, want ErrUnavailable", name, err)
		}
	}
	if txRan {
		t.Error("a refused Transaction ran its function")
	}
	// The subscription made before goes on; publish behind the guard.
	if err := h.st.Publish(ctx, ch, []byte("while shut")); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, ctx, got); m != "while shut" {
		t.Fatalf("subscription got %q", m)
	}

	shut.Store(false)
	// Nothing refused reached the backend: the key still holds 1, the
	// session is still there.
	if err := g.Get(ctx, k, &v); err != nil || v != 1 {
		t.Fatalf("Get after the gate opened = %d, %v; want 1", v, err)
	}
	if got, err := sessions.Get(ctx, s.ID); err != nil || got.ID != s.ID {
		t.Fatalf("session after the gate opened = %+v, %v", got, err)
	}
	if err := g.Publish(ctx, ch, []byte("open")); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, ctx, got); m != "open" {
		t.Fatalf("subscription got %q", m)
	}
}
