package offload_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/internal/offload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type job struct {
	block    bool
	panics   bool
	deadline time.Time
}

type result struct{ err error }

func TestRunner(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(10 * time.Millisecond))
	r := offload.New(1)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if j, ok := c.Message().(*job); ok {
			r.Run(c, j.deadline, func(ctx context.Context) any {
				if j.panics {
					panic("boom")
				}
				if j.block {
					started <- struct{}{}
					select {
					case <-release:
					case <-ctx.Done():
						return &result{err: ctx.Err()}
					}
				}
				return &result{}
			}, func(err error) any { return &result{err: err} })
		}
	}))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()
	call := func(j *job) error {
		res, err := ask.Ask[*result](context.Background(), sys.Root, pid, j)
		if err != nil {
			t.Fatal(err)
		}
		return res.err
	}
	if err := call(&job{}); err != nil {
		t.Fatalf("plain job: %v", err)
	}
	if err := call(&job{panics: true}); !errors.Is(err, offload.ErrPanicked) {
		t.Fatalf("panicking job: %v, want ErrPanicked", err)
	}
	blocked := make(chan error, 1)
	go func() {
		res, err := ask.Ask[*result](context.Background(), sys.Root, pid, &job{block: true})
		if err == nil {
			err = res.err
		}
		blocked <- err
	}()
	select {
	case <-started:
	case err := <-blocked:
		t.Fatalf("the blocking job did not run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking job did not start")
	}
	if err := call(&job{}); !errors.Is(err, offload.ErrBusy) {
		t.Fatalf("second job while one runs with max 1: %v, want ErrBusy", err)
	}
	if r.InFlight() != 1 {
		t.Fatalf("in flight = %d, want 1", r.InFlight())
	}
	r.Stop() // cancels the blocked job's context
	if err := <-blocked; !errors.Is(err, context.Canceled) {
		t.Fatalf("blocked job after Stop: %v, want context.Canceled", err)
	}
	r.Wait()
	if err := call(&job{block: true, deadline: time.Now().Add(20 * time.Millisecond)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("job past its deadline: %v", err)
	}
	close(release)
	r.Wait()
}
