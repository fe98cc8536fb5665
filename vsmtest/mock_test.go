package vsmtest

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func do(t *testing.T, c *http.Client, method, u, body string, h http.Header) (*http.Response, string, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func status(t *testing.T, m *MockService, path string) int {
	t.Helper()
	resp, _, err := do(t, m.Client(), "GET", m.URL()+path, "", nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode
}

func ctx10s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRespondRoutesAndRecording(t *testing.T) {
	m := NewMockService(t)
	c := m.Client()
	if !strings.HasPrefix(m.URL(), "http://127.0.0.1:") || m.URL() != "http://"+m.Addr() {
		t.Fatalf("URL %q addr %q", m.URL(), m.Addr())
	}
	resp, body, err := do(t, c, "GET", m.URL()+"/anything", "", nil)
	if err != nil || resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("default: %v %v %q", err, resp, body)
	}
	m.Respond(http.StatusTeapot, "short and stout", http.Header{"X-Kind": {"pot"}})
	m.RespondTo("POST /users", http.StatusCreated, `{"id":1}`, http.Header{"Content-Type": {"application/json"}})
	m.RespondTo("/users", http.StatusOK, "list", nil)
	if err := m.RespondJSON("/json", http.StatusAccepted, map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	m.Handle("/custom", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))

	cases := []struct {
		method, path string
		status       int
		body, ctype  string
	}{
		{"GET", "/other", http.StatusTeapot, "short and stout", "text/plain; charset=utf-8"},
		{"POST", "/users", http.StatusCreated, `{"id":1}`, "application/json"},
		{"GET", "/users", http.StatusOK, "list", "text/plain; charset=utf-8"},
		{"PUT", "/json", http.StatusAccepted, `{"n":2}`, "application/json"},
		{"DELETE", "/custom", http.StatusNoContent, "", ""},
	}
	for _, tc := range cases {
		resp, body, err := do(t, c, tc.method, m.URL()+tc.path+"?q=1", "payload", http.Header{"X-Test": {tc.path}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status || body != tc.body || resp.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s %s: %d %q %q", tc.method, tc.path, resp.StatusCode, body, resp.Header.Get("Content-Type"))
		}
	}
	if resp, _, _ := do(t, c, "GET", m.URL()+"/x", "", nil); resp.Header.Get("X-Kind") != "pot" {
		t.Error("default header missing")
	}
	if n := m.Requests(); n != 7 {
		t.Fatalf("Requests = %d, want 7", n)
	}
	last, ok := m.LastRequest()
	if !ok || last.Method != "GET" || last.Path != "/x" {
		t.Fatalf("last %+v", last)
	}
	h := m.History()
	if len(h) != 7 {
		t.Fatalf("history %d", len(h))
	}
	post := h[2]
	if post.Method != "POST" || post.Path != "/users" || post.RawQuery != "q=1" || string(post.Body) != "payload" || post.Header.Get("X-Test") != "/users" {
		t.Fatalf("recorded %+v", post)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	m := NewMockService(t, WithHistory(3))
	for i := range 5 {
		status(t, m, "/"+string(rune('a'+i)))
	}
	h := m.History()
	if len(h) != 3 || h[0].Path != "/c" || h[2].Path != "/e" || m.Requests() != 5 {
		t.Fatalf("history %+v, requests %d", h, m.Requests())
	}
}

func TestFailNext(t *testing.T) {
	m := NewMockService(t)
	m.FailNext(2, http.StatusServiceUnavailable)
	var got []int
	for range 4 {
		got = append(got, status(t, m, "/"))
	}
	want := []int{503, 503, 200, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	m.FailNextWith(1, Response{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"2"}}})
	resp, _, err := do(t, m.Client(), "GET", m.URL(), "", nil)
	if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("%v %+v", err, resp)
	}
	m.FailNext(5, 500)
	m.Heal()
	if s := status(t, m, "/"); s != 200 {
		t.Fatalf("after Heal: %d", s)
	}
}

func TestResetNextYieldsClientError(t *testing.T) {
	m := NewMockService(t)
	m.ResetNext(2)
	for range 2 {
		resp, _, err := do(t, m.Client(), "GET", m.URL(), "", nil)
		if err == nil || resp != nil {
			t.Fatalf("reset gave a response: %+v", resp)
		}
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			t.Fatalf("err = %v, want a connection reset", err)
		}
	}
	if s := status(t, m, "/"); s != 200 {
		t.Fatalf("after resets: %d", s)
	}
	if m.Requests() != 3 {
		t.Fatalf("Requests = %d", m.Requests())
	}
}

func TestResetBodyNextFailsTheBodyRead(t *testing.T) {
	m := NewMockService(t)
	m.ResetBodyNext(1)
	resp, body, err := do(t, m.Client(), "GET", m.URL(), "", nil)
	if resp == nil || resp.StatusCode != 200 || resp.ContentLength != 1024 {
		t.Fatalf("header not received: %v %+v", err, resp)
	}
	if err == nil || len(body) >= 1024 {
		t.Fatalf("body read %d bytes, err %v", len(body), err)
	}
}

func TestHangRespectsClientTimeout(t *testing.T) {
	m := NewMockService(t)
	m.Hang()
	c := &http.Client{Transport: m.transport, Timeout: 100 * time.Millisecond}
	start := time.Now()
	_, _, err := do(t, c, "GET", m.URL(), "", nil)
	var ue *url.Error
	if !errors.As(err, &ue) || !ue.Timeout() {
		t.Fatalf("err = %v, want a client timeout", err)
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("returned after %v, before the timeout", el)
	}
	if n := m.Requests(); n != 1 {
		t.Fatalf("Requests = %d: the request never hung at the service", n)
	}
	// The handler saw the client go: Heal, then a normal request works
	// and Close does not wait on a stuck handler.
	m.Heal()
	if s := status(t, m, "/"); s != 200 {
		t.Fatalf("after Heal: %d", s)
	}
}

func TestHangReleasedByClose(t *testing.T) {
	m, err := StartMockService()
	if err != nil {
		t.Fatal(err)
	}
	m.Hang()
	errc := make(chan error, 1)
	go func() {
		resp, err := m.Client().Get(m.URL())
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	if err := m.WaitRequests(ctx10s(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("hanging request got a response")
		}
	case <-ctx10s(t).Done():
		t.Fatal("client still hanging after Close")
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestLatency(t *testing.T) {
	m := NewMockService(t)
	m.Latency(30 * time.Millisecond)
	start := time.Now()
	if s := status(t, m, "/"); s != 200 {
		t.Fatal(s)
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("answered after %v", el)
	}
	m.Latency(time.Hour)
	c := &http.Client{Transport: m.transport, Timeout: 50 * time.Millisecond}
	if _, _, err := do(t, c, "GET", m.URL(), "", nil); err == nil {
		t.Fatal("no timeout under an hour of latency")
	}
	m.Heal()
	if s := status(t, m, "/"); s != 200 {
		t.Fatal(s)
	}
}

func TestOversizeBody(t *testing.T) {
	m := NewMockService(t)
	const n = 5<<20 + 7
	m.OversizeBody(n)
	resp, body, err := do(t, m.Client(), "GET", m.URL(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || len(body) != n {
		t.Fatalf("content length %d, encoding %v, read %d", resp.ContentLength, resp.TransferEncoding, len(body))
	}
}

func TestKillAndRestart(t *testing.T) {
	m := NewMockService(t)
	if s := status(t, m, "/"); s != 200 {
		t.Fatal(s)
	}
	// A request in flight when the service dies sees its connection go.
	m.Hang()
	errc := make(chan error, 1)
	go func() {
		resp, err := m.Client().Get(m.URL())
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	if err := m.WaitRequests(ctx10s(t), 2); err != nil {
		t.Fatal(err)
	}
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Fatal("in-flight request survived Kill")
	}
	m.Heal()
	_, _, err := do(t, m.Client(), "GET", m.URL(), "", nil)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v while killed, want connection refused", err)
	}
	if err := m.Kill(); err != nil {
		t.Fatalf("second Kill: %v", err)
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := m.Restart(); err != nil {
		t.Fatalf("second Restart: %v", err)
	}
	if s := status(t, m, "/"); s != 200 {
		t.Fatal(s)
	}
	if m.Requests() != 3 {
		t.Fatalf("Requests = %d, want 3", m.Requests())
	}
}

func TestRefusedAddr(t *testing.T) {
	addr := RefusedAddr(t)
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	_, _, err := do(t, c, "GET", "http://"+addr, "", nil)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want connection refused", err)
	}
}

func TestTLS(t *testing.T) {
	m := NewMockService(t, WithTLS())
	if !strings.HasPrefix(m.URL(), "https://127.0.0.1:") || len(m.CAPEM()) == 0 {
		t.Fatalf("URL %q", m.URL())
	}
	if s := status(t, m, "/"); s != 200 {
		t.Fatal(s)
	}
	plain := &http.Client{Transport: &http.Transport{}}
	defer plain.CloseIdleConnections()
	_, _, err := do(t, plain, "GET", m.URL(), "", nil)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("untrusting client: %v", err)
	}
	m.ResetNext(1)
	if resp, _, err := do(t, m.Client(), "GET", m.URL(), "", nil); err == nil {
		t.Fatalf("reset over TLS gave %d", resp.StatusCode)
	}
	if s := status(t, m, "/"); s != 200 {
		t.Fatal(s)
	}
}

func TestIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	ln.Close()
	m := NewMockService(t, WithAddr("[::1]:0"))
	if !strings.HasPrefix(m.URL(), "http://[::1]:") {
		t.Fatalf("URL %q", m.URL())
	}
	if s := status(t, m, "/"); s != 200 {
		t.Fatal(s)
	}
}

func TestWithMockService(t *testing.T) {
	var url string
	WithMockService(t, func(m *MockService) {
		url = m.URL()
		m.Respond(201, "made", nil)
		if s := status(t, m, "/"); s != 201 {
			t.Fatal(s)
		}
	})
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	if _, _, err := do(t, c, "GET", url, "", nil); err == nil {
		t.Fatal("service still up after WithMockService returned")
	}
}

func TestWaitRequestsHonoursContext(t *testing.T) {
	m := NewMockService(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.WaitRequests(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	status(t, m, "/")
	if err := m.WaitRequests(ctx, 1); err != nil {
		t.Fatalf("already arrived: %v", err)
	}
}
