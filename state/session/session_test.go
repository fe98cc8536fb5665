package session_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/state"
	"github.com/viable-systems/vsm-connections/state/memory"
	"github.com/viable-systems/vsm-connections/state/session"
)

// The behaviour tests run in statetest against every backend; these cover
// what is independent of it.

type failingStore struct{ state.Store }

func (failingStore) Get(context.Context, string, any) error { return state.ErrUnavailable }

func TestBackendErrorsAreNotNotFound(t *testing.T) {
	st := memory.New()
	defer st.Close()
	ctx := context.Background()
	s, err := session.New(st, session.Config{}).Create(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = session.New(failingStore{st}, session.Config{}).Get(ctx, s.ID)
	if !errors.Is(err, state.ErrUnavailable) || errors.Is(err, state.ErrNotFound) {
		t.Fatalf("Get on a failing backend = %v", err)
	}
}

func TestDefaultsAndErrorsHideID(t *testing.T) {
	clk := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := memory.New()
	defer st.Close()
	ctx := context.Background()
	ss := session.New(st, session.Config{Now: func() time.Time { return clk }})
	s, err := ss.Create(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Expires.Equal(clk.Add(30 * time.Minute)) {
		t.Fatalf("default TTL: expires %v", s.Expires)
	}
	if n, _ := st.Exists(ctx, "session:"+s.ID); n != 1 {
		t.Fatal("default prefix not used")
	}
	_ = ss.Delete(ctx, s.ID)
	_, err = ss.Get(ctx, s.ID)
	if err == nil || containsID(err.Error(), s.ID) {
		t.Fatalf("error %v reveals the ID", err)
	}
}

func containsID(msg, id string) bool {
	for i := 0; i+8 <= len(id); i++ {
		for j := 0; j+8 <= len(msg); j++ {
			if msg[j:j+8] == id[i:i+8] {
				return true
			}
		}
	}
	return false
}

func Example() {
	ctx := context.Background()
	st := memory.New()
	defer st.Close()
	sessions := session.New(st, session.Config{TTL: time.Hour, Sliding: true})

	s, _ := sessions.Create(ctx, map[string]string{"user": "ann"})
	got, _ := sessions.Get(ctx, s.ID)
	var data map[string]string
	_ = got.Decode(&data)
	fmt.Println(data["user"], len(s.ID))

	_ = sessions.Delete(ctx, s.ID)
	_, err := sessions.Get(ctx, s.ID)
	fmt.Println(errors.Is(err, state.ErrNotFound))
	// Output:
	// ann 43
	// true
}
