package httppool

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/actors/pb"
	"github.com/viable-systems/vsm-connections/internal/actortest"
	"github.com/viable-systems/vsm-connections/pool"
	"github.com/viable-systems/vsm-connections/vsmtest"
)

// The proto forms get the answers the Go-struct forms get, through a
// marshal/unmarshal round trip (what the remote does between members).
func TestRemoteFormsSameAnswers(t *testing.T) {
	sys := actortest.NewSystem(t)
	svc := vsmtest.NewMockService(t)
	svc.Respond(201, "hello", http.Header{"X-Answer": {"42", "43"}})
	c := newClient(t, Config{Name: "api", Endpoints: []string{svc.Addr()}, Size: 3, Timeout: 300 * time.Millisecond})
	pid := spawn(t, sys, Props(c, Env{}))
	ctx := bg(t)
	wa := actortest.WireAsker{Root: sys.Root}

	req := &DoRequest{Method: "POST", URL: "/x", Header: http.Header{"X-In": {"1"}}, Body: []byte("body")}
	local, err := Send(ctx, sys.Root, pid, req)
	if err != nil {
		t.Fatal(err)
	}
	remote, err := RemoteSend(ctx, wa, pid, req)
	if err != nil {
		t.Fatal(err)
	}
	if remote.Status != 201 || string(remote.Body) != "hello" || remote.Endpoint != svc.Addr() || remote.Attempts != 1 ||
		!reflect.DeepEqual(remote.Header["X-Answer"], []string{"42", "43"}) {
		t.Fatalf("remote %+v", remote)
	}
	if remote.Status != local.Status || string(remote.Body) != string(local.Body) || remote.Endpoint != local.Endpoint ||
		remote.Attempts != local.Attempts || !reflect.DeepEqual(remote.Header, local.Header) {
		t.Fatalf("remote %+v local %+v", remote, local)
	}
	h := svc.History()
	if last := h[len(h)-1]; last.Method != "POST" || string(last.Body) != "body" || last.Header.Get("X-In") != "1" {
		t.Fatalf("request seen by the server: %+v", last)
	}

	// A status failure comes back as a *StatusError with its response.
	svc.FailNext(3, 503)
	_, err = RemoteSend(ctx, wa, pid, &DoRequest{URL: "/x"})
	var se *StatusError
	if !errors.As(err, &se) || !errors.Is(err, ErrStatus) || se.Response.Status != 503 || se.Response.Attempts != 3 || se.Pool != "api" {
		t.Fatalf("status failure: %#v", err)
	}

	// The pool's own timeout: ErrTimeout and DeadlineExceeded both match,
	// as locally.
	svc.Hang()
	_, lerr := Send(ctx, sys.Root, pid, &DoRequest{URL: "/x"})
	_, rerr := RemoteSend(ctx, wa, pid, &DoRequest{URL: "/x"})
	for _, err := range []error{lerr, rerr} {
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrStatus) {
			t.Fatalf("timeout: %v", err)
		}
	}
	if lerr.Error() != rerr.Error() {
		t.Fatalf("messages differ:\n local %v\nremote %v", lerr, rerr)
	}
	svc.Heal()

	// A bad request is refused the same way.
	if _, err := RemoteSend(ctx, wa, pid, &DoRequest{URL: "::bad"}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("bad request: %v", err)
	}

	st, err := RemoteResize(ctx, wa, pid, 5)
	if err != nil || st.Size != 5 || st.Name != "api" {
		t.Fatalf("resize %+v %v", st, err)
	}
	if _, err := RemoteResize(ctx, wa, pid, 0); !errors.Is(err, pool.ErrInvalidSize) {
		t.Fatalf("resize 0: %v", err)
	}
	rst, err := RemotePoolStats(ctx, wa, pid)
	lst, _ := PoolStats(ctx, sys.Root, pid)
	if err != nil || rst.Size != 5 || rst.Requests != lst.Requests {
		t.Fatalf("stats %+v %v, local %+v", rst, err, lst)
	}
}

// A proto request gets a proto reply (a Go struct could not cross back).
func TestProtoRequestProtoReply(t *testing.T) {
	sys := actortest.NewSystem(t)
	svc := vsmtest.NewMockService(t)
	svc.Respond(200, "ok", nil)
	c := newClient(t, Config{Name: "api", Endpoints: []string{svc.Addr()}, Size: 1})
	pid := spawn(t, sys, Props(c, Env{}))
	ctx := bg(t)
	v, err := actortest.WireAsker{Root: sys.Root}.Ask(ctx, pid, &pb.HttpDoRequest{Url: "/"})
	if r, ok := v.(*pb.HttpResponse); err != nil || !ok || r.GetStatus() != 200 || string(r.GetBody()) != "ok" {
		t.Fatalf("%T %v %v", v, v, err)
	}
}
