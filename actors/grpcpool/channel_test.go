package grpcpool

import (
	"context"
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

func TestStubsOverChannel(t *testing.T) {
	ts := (&testServer{}).start(t, "")
	ch := newChannel(t, Config{Name: "test", Endpoints: []string{ts.addr}})
	ctx := bounded(t)
	client := testpb.NewTestClient(ch) // the generated stub takes the channel unchanged

	r, err := client.Unary(ctx, &testpb.Request{Text: "hello"})
	if err != nil || r.GetText() != "hello" {
		t.Fatalf("Unary = %v, %v", r, err)
	}

	var got []int32
	for m, err := range ServerStream(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[testpb.Reply], error) {
		return client.ServerStream(ctx, &testpb.Request{Text: "s", Count: 3})
	}) {
		if err != nil {
			t.Fatalf("server stream: %v", err)
		}
		got = append(got, m.GetSeq())
	}
	if len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("server stream seqs = %v, want [0 1 2]", got)
	}

	cs, err := client.ClientStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b", "c"} {
		if err := cs.Send(&testpb.Request{Text: s}); err != nil {
			t.Fatal(err)
		}
	}
	cr, err := cs.CloseAndRecv()
	if err != nil || cr.GetText() != "abc" || cr.GetSeq() != 3 {
		t.Fatalf("client stream = %v, %v", cr, err)
	}

	bs, err := client.Bidi(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []string{"x", "y"} {
		if err := bs.Send(&testpb.Request{Text: s}); err != nil {
			t.Fatal(err)
		}
		br, err := bs.Recv()
		if err != nil || br.GetText() != s || br.GetSeq() != int32(i) {
			t.Fatalf("bidi %d = %v, %v", i, br, err)
		}
	}
	_ = bs.CloseSend()
	if _, err := bs.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("bidi end = %v, want io.EOF", err)
	}

	st := ch.Stats()
	if st.Codes["OK"] != 4 || st.Calls != 4 || st.Streams != 3 || st.InFlight != 0 {
		t.Fatalf("stats = %+v, want 4 OK calls (3 streams), none in flight", st)
	}
}

func TestStreamLimitLearntFromSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []grpc.ServerOption
		cap  uint32
		want int64
	}{
		{"advertised", []grpc.ServerOption{grpc.MaxConcurrentStreams(4)}, 0, 4},
		{"none advertised", nil, 0, -1},
		{"capped by config", []grpc.ServerOption{grpc.MaxConcurrentStreams(100)}, 7, 7},
		{"config stands in", nil, 9, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := (&testServer{}).start(t, "", tc.opts...)
			ch := newChannel(t, Config{Endpoints: []string{ts.addr}, MaxConcurrentStreams: tc.cap})
			if _, err := testpb.NewTestClient(ch).Unary(bounded(t), &testpb.Request{}); err != nil {
				t.Fatal(err)
			}
			// grpc-go reports READY only once it has read the server's
			// SETTINGS, so the limit is known after one call.
			st := ch.Stats()
			if st.StreamLimit != tc.want || st.Conns[0].StreamLimit != tc.want || st.Conns[0].Transports != 1 {
				t.Fatalf("stats = %+v, want stream limit %d over 1 transport", st, tc.want)
			}
		})
	}
}

// settingsFrame builds an HTTP/2 SETTINGS frame with the given (id, value)
// pairs.
func settingsFrame(flags byte, params ...[2]uint32) []byte {
	n := 6 * len(params)
	b := []byte{byte(n >> 16), byte(n >> 8), byte(n), frameSettings, flags, 0, 0, 0, 0}
	for _, p := range params {
		b = append(b, byte(p[0]>>8), byte(p[0]), byte(p[1]>>24), byte(p[1]>>16), byte(p[1]>>8), byte(p[1]))
	}
	return b
}

func TestFrameWatcher(t *testing.T) {
	data := []byte{0, 0, 5, 0x0, 0, 0, 0, 0, 1, 3, 3, 3, 3, 3} // a DATA frame with payload 03 03 03...
	var stream []byte
	stream = append(stream, settingsFrame(0, [2]uint32{0x4, 65535}, [2]uint32{settingMaxStreams, 3})...) // window, limit 3
	stream = append(stream, data...)
	// A DATA payload that looks like a SETTINGS frame must not be decoded.
	fake := settingsFrame(0, [2]uint32{settingMaxStreams, 99})
	stream = append(stream, byte(len(fake)>>16), byte(len(fake)>>8), byte(len(fake)), 0x0, 0, 0, 0, 0, 1)
	stream = append(stream, fake...)
	stream = append(stream, settingsFrame(flagAck)...)                            // an ACK: ignored
	stream = append(stream, settingsFrame(0, [2]uint32{settingMaxStreams, 5})...) // a change
	stream = append(stream, settingsFrame(0, [2]uint32{0x4, 1})...)               // later, without it: unchanged
	want := []uint32{3, 5}

	for _, chunk := range []int{1, 2, 5, 9, 1000} {
		var got []uint32
		w := frameWatcher{onLimit: func(v uint32) { got = append(got, v) }}
		for b := stream; len(b) > 0; {
			n := min(chunk, len(b))
			w.feed(b[:n])
			b = b[n:]
		}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("chunk %d: limits %v, want %v", chunk, got, want)
		}
	}

	var got []uint32
	w := frameWatcher{onLimit: func(v uint32) { got = append(got, v) }}
	w.feed(settingsFrame(0))
	w.feed(settingsFrame(0))
	if len(got) != 1 || got[0] != math.MaxUint32 {
		t.Fatalf("first SETTINGS without the limit: %v, want one MaxUint32 (no limit)", got)
	}
}

// blocker is a unary handler that parks calls until released and counts
// how many it holds at once.
type blocker struct {
	entered chan struct{}
	release chan struct{}
	active  chan int // current count after each entry
	n       int
	max     int
	mu      chan struct{}
}

func newBlocker() *blocker {
	b := &blocker{entered: make(chan struct{}, 64), release: make(chan struct{}), active: make(chan int, 64), mu: make(chan struct{}, 1)}
	return b
}

func (b *blocker) handle(ctx context.Context, r *testpb.Request) (*testpb.Reply, error) {
	if r.GetText() == "warm" {
		return &testpb.Reply{}, nil
	}
	b.mu <- struct{}{}
	b.n++
	b.max = max(b.max, b.n)
	<-b.mu
	b.entered <- struct{}{}
	defer func() { b.mu <- struct{}{}; b.n--; <-b.mu }()
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &testpb.Reply{Text: r.GetText()}, nil
}

func (b *blocker) maxActive() int {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.max
}

// enteredInterceptor signals each call that got past the channel's
// accounting (user interceptors run inside the channel's).
func enteredInterceptor(ch chan<- struct{}) grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ch <- struct{}{}
		return invoker(ctx, method, req, reply, cc, opts...)
	})
}

// With one ClientConn and a server limit of 4, eight calls are in flight
// on the client while the server never holds more than four: grpc-go
// queues the rest.
func TestQueueingWithOneConn(t *testing.T) {
	b := newBlocker()
	ts := (&testServer{unary: b.handle}).start(t, "", grpc.MaxConcurrentStreams(4))
	sent := make(chan struct{}, 64)
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, MaxConns: 1, DialOptions: []grpc.DialOption{enteredInterceptor(sent)}})
	ctx := bounded(t)
	client := testpb.NewTestClient(ch)
	if _, err := client.Unary(ctx, &testpb.Request{Text: "warm"}); err != nil {
		t.Fatal(err)
	}
	<-sent

	errs := make(chan error, 8)
	for range 8 {
		go func() { _, err := client.Unary(ctx, &testpb.Request{Text: "x"}); errs <- err }()
	}
	for i := range 8 {
		recv(t, ctx, sent, "call "+string(rune('1'+i))+" sent")
	}
	for range 4 {
		recv(t, ctx, b.entered, "a call on the server")
	}
	if st := ch.Stats(); st.InFlight != 8 || len(st.Conns) != 1 || st.StreamLimit != 4 {
		t.Fatalf("stats = %+v, want 8 in flight on 1 conn limited to 4", st)
	}
	close(b.release)
	for range 8 {
		if err := recv(t, ctx, errs, "a reply"); err != nil {
			t.Fatal(err)
		}
	}
	if m := b.maxActive(); m != 4 {
		t.Fatalf("server held at most %d calls at once, want 4 (the rest queued on the client)", m)
	}
}

// With its actor, the channel opens a second ClientConn when the calls in
// flight reach 0.8 × 4, so the server holds all eight calls at once, and
// closes the extra once it is idle.
func TestScaleUpRemovesQueueingAndIdleExtraCloses(t *testing.T) {
	b := newBlocker()
	ts := (&testServer{unary: b.handle}).start(t, "", grpc.MaxConcurrentStreams(4))
	sys := actortest.NewSystem(t)
	opened := make(chan *ConnOpened, 4)
	closed := make(chan *ConnClosed, 4)
	sub := sys.EventStream.Subscribe(func(ev any) {
		switch e := ev.(type) {
		case *ConnOpened:
			opened <- e
		case *ConnClosed:
			closed <- e
		}
	})
	defer sys.EventStream.Unsubscribe(sub)
	ch := newChannel(t, Config{Name: "scale", Endpoints: []string{ts.addr}, MaxConns: 2, IdleTimeout: 250 * time.Millisecond})
	pid := sys.Root.Spawn(Props(ch, Env{Events: sys.EventStream}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	ctx := bounded(t)
	client := testpb.NewTestClient(ch)
	if _, err := client.Unary(ctx, &testpb.Request{Text: "warm"}); err != nil {
		t.Fatal(err)
	}

	errs := make(chan error, 8)
	call := func() { _, err := client.Unary(ctx, &testpb.Request{Text: "x"}); errs <- err }
	for range 4 {
		go call()
	}
	for range 4 {
		recv(t, ctx, b.entered, "one of the first four calls on the server")
	}
	ev := recv(t, ctx, opened, "ConnOpened")
	if ev.Conns != 2 || ev.StreamLimit != 4 || ev.Pool != "scale" {
		t.Fatalf("ConnOpened = %+v, want 2 conns after a limit of 4", ev)
	}
	for range 4 {
		go call()
	}
	for range 4 {
		recv(t, ctx, b.entered, "one of the next four calls on the server")
	}
	if m := b.maxActive(); m != 8 {
		t.Fatalf("server held %d calls at once, want all 8", m)
	}
	st := ch.Stats()
	if len(st.Conns) != 2 || st.Conns[0].InFlight != 4 || st.Conns[1].InFlight != 4 || st.ScaleUps != 1 {
		t.Fatalf("stats = %+v, want 4 calls on each of 2 conns", st)
	}
	close(b.release)
	for range 8 {
		if err := recv(t, ctx, errs, "a reply"); err != nil {
			t.Fatal(err)
		}
	}
	// Light traffic goes to the first conn, so the extra falls idle.
	if _, err := client.Unary(ctx, &testpb.Request{Text: "warm"}); err != nil {
		t.Fatal(err)
	}
	cl := recv(t, ctx, closed, "ConnClosed")
	if cl.Conns != 1 || cl.Reason != "idle" {
		t.Fatalf("ConnClosed = %+v, want 1 conn left, reason idle", cl)
	}
	st = ch.Stats()
	if len(st.Conns) != 1 || st.Conns[0].ID != 1 || st.ScaleDowns != 1 {
		t.Fatalf("stats = %+v, want the first conn alone", st)
	}
	if _, err := client.Unary(ctx, &testpb.Request{Text: "after"}); err != nil {
		t.Fatalf("call after the scale-down: %v", err)
	}
}

// A stream whose context ends while it is being opened (here: a user
// interceptor cancels it once grpc-go made the stream) settles at once; the
// context's callback may run before the channel's interceptor returns.
func TestStreamContextEndsWhileOpening(t *testing.T) {
	ts := (&testServer{}).start(t, "")
	cancels := make(chan context.CancelFunc, 1)
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, DialOptions: []grpc.DialOption{
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			s, err := streamer(ctx, desc, cc, method, opts...)
			(<-cancels)()
			return s, err
		}),
	}})
	client := testpb.NewTestClient(ch)
	for range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		cancels <- cancel
		if s, err := client.ServerStream(ctx, &testpb.Request{Count: 1}); err == nil {
			for {
				if _, err := s.Recv(); err != nil {
					break
				}
			}
		}
	}
	if st := ch.Stats(); st.InFlight != 0 || st.Streams != 50 {
		t.Fatalf("stats %+v, want 50 streams, none in flight", st)
	}
}

// Close also closes an extra conn that was retired while a stream its
// caller never finished still held it; goleak would see its goroutines.
func TestCloseClosesRetiredConns(t *testing.T) {
	ts := (&testServer{}).start(t, "", grpc.MaxConcurrentStreams(2))
	ch, err := New(Config{Endpoints: []string{ts.addr}, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	client := testpb.NewTestClient(ch)
	if _, err := client.Unary(bounded(t), &testpb.Request{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ch.addConn(); err != nil {
		t.Fatal(err)
	}
	held := (*ch.conns.Load())[1]
	held.inflight.Add(1) // a call that never ends
	if !ch.removeConn(held) || held.closed.Load() {
		t.Fatal("the busy conn was not retired, or was closed under its call")
	}
	_ = ch.Close()
	if !held.closed.Load() {
		t.Fatal("Close left the retired conn open")
	}
}
