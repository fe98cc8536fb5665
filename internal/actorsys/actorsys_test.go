package actorsys_test

import (
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/viable-systems/vsm-connections/internal/actorsys"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quiet() actor.ConfigOption {
	return actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) })
}

func count(reg *actor.ProcessRegistryValue) int {
	n := 0
	for _, b := range reg.LocalPIDs.LocalPIDs {
		n += b.Count()
	}
	return n
}

// The compact registry keeps what the system registered while it was
// made: the event stream's process still takes a publish, and a message
// to a stopped actor is still a dead letter on the event stream.
func TestCompactKeepsTheSystemsProcesses(t *testing.T) {
	plain := actor.NewActorSystem(quiet())
	want := count(plain.ProcessRegistry)
	plain.Shutdown()

	sys := actorsys.New(quiet(), actor.WithDeadLetterThrottleInterval(time.Millisecond))
	defer sys.Shutdown()
	if got := len(sys.ProcessRegistry.LocalPIDs.LocalPIDs); got != actorsys.Buckets {
		t.Fatalf("registry has %d maps, want %d", got, actorsys.Buckets)
	}
	if got := count(sys.ProcessRegistry); got != want || want == 0 {
		t.Fatalf("compact registry holds %d processes, want the %d the system registered", got, want)
	}
	dead := make(chan *actor.DeadLetterEvent, 1)
	mine := make(chan string, 1)
	sub := sys.EventStream.Subscribe(func(e any) {
		switch e := e.(type) {
		case *actor.DeadLetterEvent:
			select {
			case dead <- e:
			default:
			}
		case string:
			mine <- e
		}
	})
	defer sys.EventStream.Unsubscribe(sub)

	sys.Root.Send(actor.NewPID(sys.ProcessRegistry.Address, "eventstream"), "published")
	if got := actortest.Recv(t, mine); got != "published" {
		t.Fatalf("event stream process got %q", got)
	}
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	if err := sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	sys.Root.Send(pid, "late")
	if e := actortest.Recv(t, dead); !e.PID.Equal(pid) || e.Message != "late" {
		t.Fatalf("dead letter %+v, want the message to %v", e, pid)
	}
}

// Thousands of actors spawn, answer and stop through the compact
// registry; each is found by its PID and none is left registered.
func TestManyActorsThroughCompactRegistry(t *testing.T) {
	sys := actorsys.New(quiet())
	defer sys.Shutdown()
	base := count(sys.ProcessRegistry)
	const n = 5000
	pids := make([]*actor.PID, n)
	for i := range n {
		pid, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
			if s, ok := c.Message().(string); ok {
				c.Respond(s + "!")
			}
		}), fmt.Sprintf("unit-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		pids[i] = pid
	}
	if got := count(sys.ProcessRegistry); got != base+n {
		t.Fatalf("%d registered, want %d", got, base+n)
	}
	for i, pid := range pids {
		// A fresh PID has no cached process: the reply proves the lookup.
		fresh := actor.NewPID(pid.Address, pid.Id)
		r, err := sys.Root.RequestFuture(fresh, fmt.Sprint(i), 5*time.Second).Result()
		if err != nil || r != fmt.Sprint(i)+"!" {
			t.Fatalf("unit %d answered %v, %v", i, r, err)
		}
	}
	for _, pid := range pids {
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(sys.ProcessRegistry); got != base {
		t.Fatalf("%d registered after every unit stopped, want %d", got, base)
	}
}

// What an empty system keeps on the heap: protoactor's default registry
// retains about 2.8 MB (68,000 objects), the compact one a small part of
// that.
func TestCompactRegistryHeap(t *testing.T) {
	retained := func(mk func() *actor.ActorSystem) (uint64, uint64) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		sys := mk()
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(sys)
		sys.Shutdown()
		return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc), after.HeapObjects - min(after.HeapObjects, before.HeapObjects)
	}
	defBytes, defObjs := retained(func() *actor.ActorSystem { return actor.NewActorSystem(quiet()) })
	bytes, objs := retained(func() *actor.ActorSystem { return actorsys.New(quiet()) })
	t.Logf("retained by an empty system: default registry %d B in %d objects, compact %d B in %d objects", defBytes, defObjs, bytes, objs)
	if bytes > 256<<10 || objs > 2000 {
		t.Fatalf("an empty system retains %d B in %d objects, want at most 256 KiB and 2000", bytes, objs)
	}
}
