package ws

import (
	"errors"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// The proto form of Send, through a marshal round trip, queues the message
// and answers as SendVia does, errors included.
func TestRemoteSendVia(t *testing.T) {
	ctx := testCtx(t)
	sys := actortest.NewSystem(t)
	srv := startServer(t)
	rec := newRecorder()
	cfg := fastConfig(srv.url())
	cfg.Handler = rec
	cfg.MaxMessageSize = 8
	c := spawn(t, sys, "remote", cfg, Env{})
	rec.expect(t, ctx, "connected")
	wa := actortest.WireAsker{Root: sys.Root}
	if err := RemoteSendVia(ctx, wa, c.PID(), TextMessage("by-wire")); err != nil {
		t.Fatalf("RemoteSendVia: %v", err)
	}
	rec.expect(t, ctx, "message", "by-wire")
	err := RemoteSendVia(ctx, wa, c.PID(), TextMessage("123456789"))
	lerr := SendVia(ctx, sys.Root, c.PID(), TextMessage("123456789"))
	if !errors.Is(err, ErrMessageTooLarge) || errors.Is(err, ErrClosed) || err.Error() != lerr.Error() {
		t.Fatalf("oversize RemoteSendVia = %v, want %v", err, lerr)
	}
	gone := actor.NewPID("nonhost", "no-such-conn")
	if err := RemoteSendVia(ctx, wa, gone, TextMessage("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("RemoteSendVia to a missing actor = %v, want ErrClosed", err)
	}
	if st, err := StatsVia(ctx, sys.Root, c.PID()); err != nil || st.Sent != 1 {
		t.Fatalf("StatsVia = %v %+v", err, st)
	}
}
