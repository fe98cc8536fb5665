package state_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/viable-systems/vsm-connections/state"
)

func TestEncodeDecode(t *testing.T) {
	b, err := state.Encode(map[string]int{"a": 1})
	if err != nil || string(b) != `{"a":1}` {
		t.Fatalf("Encode = %s, %v", b, err)
	}
	raw := []byte{0, 1, 2}
	if b, _ := state.Encode(raw); &b[0] != &raw[0] {
		t.Fatal("raw bytes were copied or changed")
	}
	if b, _ := state.Encode(json.RawMessage(`[1]`)); string(b) != "[1]" {
		t.Fatalf("RawMessage = %s", b)
	}
	var rm json.RawMessage
	if err := state.Decode("k", []byte("{"), &rm); !errors.Is(err, state.ErrDecode) || rm != nil {
		t.Fatalf("Decode invalid into RawMessage = %v, %s", err, rm)
	}
	var n int
	if err := state.Decode("k", []byte("7"), n); !errors.Is(err, state.ErrDecode) {
		t.Fatalf("Decode into non-pointer = %v", err)
	}
	var p *int
	if err := state.Decode("k", []byte("7"), p); !errors.Is(err, state.ErrDecode) {
		t.Fatalf("Decode into nil pointer = %v", err)
	}
	var de *state.DecodeError
	err = state.Decode("key", []byte("x"), &n)
	if !errors.As(err, &de) || de.Key != "key" || errors.Unwrap(err) == nil {
		t.Fatalf("DecodeError = %#v", err)
	}
}

func TestResult(t *testing.T) {
	cases := []struct {
		r    state.Result
		n    int64
		text string
		ok   bool
	}{
		{state.Result{Val: int64(3)}, 3, "3", true},
		{state.Result{Val: "12"}, 12, "12", true},
		{state.Result{Val: true}, 1, "", false},
	}
	for _, c := range cases {
		n, err := c.r.Int()
		if err != nil || n != c.n {
			t.Errorf("%#v.Int() = %d, %v", c.r, n, err)
		}
		s, err := c.r.Text()
		if (err == nil) != c.ok || s != c.text {
			t.Errorf("%#v.Text() = %q, %v", c.r, s, err)
		}
	}
	if _, err := (state.Result{Val: "x"}).Int(); !errors.Is(err, state.ErrNotInteger) {
		t.Errorf("Int of text = %v", err)
	}
	if _, err := (state.Result{Err: state.ErrNotFound}).Text(); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Text of error = %v", err)
	}
}

func TestIsPattern(t *testing.T) {
	for s, want := range map[string]bool{"a": false, "a*": true, "a?": true, "a[b]": true, "a.b": false} {
		if state.IsPattern(s) != want {
			t.Errorf("IsPattern(%q) != %v", s, want)
		}
	}
}

func TestArgString(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{{"s", "s"}, {[]byte("b"), "b"}, {7, "7"}, {int64(-1), "-1"}, {uint(3), "3"}, {1.5, "1.5"}, {true, "1"}} {
		if s, ok := state.ArgString(c.in); !ok || s != c.want {
			t.Errorf("ArgString(%#v) = %q, %v", c.in, s, ok)
		}
	}
	if _, ok := state.ArgString(struct{}{}); ok {
		t.Error("ArgString of a struct succeeded")
	}
}
