package supervisor

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

func TestStrategyNames(t *testing.T) {
	for s, name := range map[Strategy]string{OneForOne: "one_for_one", AllForOne: "all_for_one", RestForOne: "rest_for_one"} {
		if s.String() != name {
			t.Errorf("%d.String() = %q", s, s.String())
		}
		var got Strategy
		if err := got.UnmarshalText([]byte(name)); err != nil || got != s {
			t.Errorf("UnmarshalText(%q) = %v, %v", name, got, err)
		}
	}
	if s, err := ParseStrategy("Rest-For-One"); err != nil || s != RestForOne {
		t.Errorf("ParseStrategy(Rest-For-One) = %v, %v", s, err)
	}
	if s, err := ParseStrategy(""); err != nil || s != OneForOne {
		t.Errorf("ParseStrategy(\"\") = %v, %v", s, err)
	}
	if _, err := ParseStrategy("one_for_all"); !errors.Is(err, ErrStrategy) {
		t.Errorf("ParseStrategy(one_for_all) err = %v", err)
	}
	if _, err := Strategy(7).MarshalText(); !errors.Is(err, ErrStrategy) {
		t.Errorf("MarshalText(7) err = %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.normalized()
	if c.Strategy != OneForOne || c.MaxRestarts != 3 || c.Window != 5*time.Second || c.Backoff.Delay(1) != 0 || c.TopLevel {
		t.Fatalf("zero config = %+v", c)
	}
	if c := (Config{MaxRestarts: -1}).normalized(); c.MaxRestarts != -1 {
		t.Fatalf("negative MaxRestarts changed to %d", c.MaxRestarts)
	}
}

func TestGaveUpError(t *testing.T) {
	err := error(&GaveUpError{Supervisor: "s1", Child: "s1/a", Restarts: 3, Window: 5 * time.Second, Cause: io.EOF})
	if !errors.Is(err, ErrGaveUp) || !errors.Is(err, io.EOF) {
		t.Fatalf("errors.Is failed for %v", err)
	}
	if got, want := err.Error(), "supervisor s1 gave up on s1/a after 3 restarts in 5s: EOF"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	root := &GaveUpError{Child: "a", Cause: "boom"}
	if errors.Unwrap(root) != nil || root.Error() != "supervisor (root) gave up on a after 0 restarts in 0s: boom" {
		t.Fatalf("root error = %q", root.Error())
	}
}

func TestHelpersHonourContext(t *testing.T) {
	sys := quietSystem()
	blk := &blocker{stopping: make(chan struct{}, 1), release: make(chan struct{})}
	pid, err := sys.Root.SpawnNamed(Props("", Config{TopLevel: true}, Env{},
		Worker("blk", actor.PropsFromProducer(func() actor.Actor { return blk }))), "node")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(blk.release); _ = sys.Root.StopFuture(pid).Wait() })

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Start(cancelled, sys.Root, pid, Worker("x", actor.PropsFromProducer(func() actor.Actor { return &blocker{} }))); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with a cancelled ctx: %v", err)
	}
	if _, err := Start(context.Background(), sys.Root, pid, ChildSpec{Name: "x"}); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("Start without props: %v", err)
	}

	// blk never finishes stopping, so Stop's reply never comes; the caller's
	// context decides.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Stop(ctx, sys.Root, pid, "blk") }()
	select {
	case <-blk.stopping:
	case <-time.After(waitFor):
		t.Fatal("blk not stopping")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Stop = %v, want context.Canceled", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Stop ignored its context")
	}

	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if err := Stop(short, sys.Root, pid, "blk"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop past its deadline = %v", err)
	}
}
