package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/memory"
)

// The protobuf forms of the state messages get the answers a local caller
// gets, through proto.Marshal/Unmarshal both ways as between members, with
// the same error identities.
func TestRemoteFormsSameAnswers(t *testing.T) {
	sys := actortest.NewSystem(t)
	st := memory.New()
	t.Cleanup(func() { _ = st.Close() })
	pid := sys.Root.Spawn(redisstore.Props(st))
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wa := actortest.WireAsker{Root: sys.Root}

	if err := redisstore.RemoteSet(ctx, wa, pid, "r:k", []byte(`{"a":1}`), time.Hour); err != nil {
		t.Fatal(err)
	}
	var local map[string]int
	if err := st.Get(ctx, "r:k", &local); err != nil || local["a"] != 1 {
		t.Fatalf("stored %v, %v: want the raw bytes as JSON", local, err)
	}
	if v, err := redisstore.RemoteGet(ctx, wa, pid, "r:k"); err != nil || string(v) != `{"a":1}` {
		t.Fatalf("RemoteGet = %q, %v", v, err)
	}
	if _, err := redisstore.RemoteGet(ctx, wa, pid, "r:missing"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("RemoteGet missing = %v, want state.ErrNotFound", err)
	}
	if n, err := redisstore.RemoteIncr(ctx, wa, pid, "r:n", 0); err != nil || n != 1 {
		t.Fatalf("RemoteIncr = %d, %v", n, err)
	}
	if n, err := redisstore.RemoteIncr(ctx, wa, pid, "r:n", 4); err != nil || n != 5 {
		t.Fatalf("RemoteIncr by 4 = %d, %v", n, err)
	}
	if _, err := redisstore.RemoteIncr(ctx, wa, pid, "r:k", 1); !errors.Is(err, state.ErrNotInteger) {
		t.Fatalf("RemoteIncr of JSON = %v, want state.ErrNotInteger", err)
	}
	if n, err := redisstore.RemoteDel(ctx, wa, pid, "r:n", "r:none"); err != nil || n != 1 {
		t.Fatalf("RemoteDel = %d, %v", n, err)
	}
	got := make(chan string, 1)
	sub, err := st.Subscribe(ctx, "r.news", func(m state.Message) { got <- string(m.Payload) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := redisstore.RemotePublish(ctx, wa, pid, "r.news", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "hi" {
			t.Fatalf("published %q", p)
		}
	case <-ctx.Done():
		t.Fatal("RemotePublish delivered nothing")
	}
	if err := redisstore.RemotePing(ctx, wa, pid); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	if err := redisstore.RemotePing(ctx, wa, pid); !errors.Is(err, state.ErrClosed) && !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("RemotePing of a closed store = %v, want its error identity", err)
	}
}
