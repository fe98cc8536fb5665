package supervisor

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/event"
)

// crashOnFirstStart is a worker whose first incarnation panics in Started.
func crashOnFirstStart(rec *recorder, name string) ChildSpec {
	var first atomic.Bool
	first.Store(true)
	return Worker(name, actor.PropsFromProducer(func() actor.Actor {
		w := &worker{name: name, rec: rec, crashing: &atomic.Bool{}}
		w.crashing.Store(first.Swap(false))
		return w
	}))
}

// gated is a child whose Started reports its entry and exit on log and,
// with a gate, blocks until the gate opens.
type gated struct {
	name string
	log  *startLog
	gate chan struct{}
}

type startLog struct {
	mu      sync.Mutex
	entries []string
	entered chan string
}

func newStartLog(n int) *startLog { return &startLog{entered: make(chan string, n)} }

func (l *startLog) add(s string) {
	l.mu.Lock()
	l.entries = append(l.entries, s)
	l.mu.Unlock()
}

func (l *startLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries)
}

func (g *gated) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); ok {
		g.log.add("enter " + g.name)
		g.log.entered <- g.name
		if g.gate != nil {
			select {
			case <-g.gate:
			case <-time.After(waitFor): // the test fails on its own; do not hang the actor
			}
		}
		g.log.add("exit " + g.name)
	}
}

func gatedSpec(name string, log *startLog, gate chan struct{}) ChildSpec {
	return Worker(name, actor.PropsFromProducer(func() actor.Actor { return &gated{name: name, log: log, gate: gate} }))
}

// Under one_for_one, StartAll spawns every child before waiting for any
// Started: here each child's Started blocks until all of them have entered
// it, which one child at a time could never reach. The reply comes after
// every Started, and lists the children in spec order.
func TestStartAllOneForOneStartsConcurrently(t *testing.T) {
	tr := newTree(t, Config{}, Config{Strategy: OneForOne}, func(*recorder) []ChildSpec { return nil })
	const n = 20
	log, gate := newStartLog(n), make(chan struct{})
	specs := make([]ChildSpec, n)
	for i := range specs {
		specs[i] = gatedSpec(fmt.Sprintf("w%02d", i), log, gate)
	}
	type result struct {
		pids []*actor.PID
		err  error
	}
	done := make(chan result, 1)
	go func() {
		pids, err := StartAll(tr.ctx(), tr.sys.Root, tr.pid("sut"), specs...)
		done <- result{pids, err}
	}()
	ctx := tr.ctx()
	for range n {
		select {
		case <-log.entered:
		case <-ctx.Done():
			t.Fatalf("only %d of %d children entered Started at once: %v", len(log.all()), n, log.all())
		}
	}
	select {
	case r := <-done:
		t.Fatalf("StartAll returned before the children's Started ended: %v", r.err)
	default:
	}
	close(gate)
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("StartAll did not return")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := slices.Index(log.all(), "exit w00"); got < n {
		t.Fatalf("w00 left Started before every child entered: %v", log.all())
	}
	kids := tr.list("sut")
	if len(r.pids) != n || len(kids) != n {
		t.Fatalf("%d PIDs, %d children; want %d", len(r.pids), len(kids), n)
	}
	for i, k := range kids {
		if want := fmt.Sprintf("w%02d", i); k.Name != want || k.State != "running" || !k.PID.Equal(r.pids[i]) || !tr.pid("sut/"+want).Equal(r.pids[i]) {
			t.Fatalf("child %d = %+v (PID %v), want %s running with PID %v", i, k, k.PID, want, r.pids[i])
		}
	}
	started := func(ev event.Event) bool {
		e, ok := ev.(*event.ActorStarted)
		return ok && e.Supervisor == "sut"
	}
	if got := len(tr.events.wait(t, n, started)); got != n {
		t.Fatalf("%d ActorStarted events, want %d", got, n)
	}
}

// The other strategies keep the OTP order: each child is spawned once the
// previous one has handled Started.
func TestStartAllRestForOneStartsInOrder(t *testing.T) {
	for _, strategy := range []Strategy{RestForOne, AllForOne} {
		t.Run(strategy.String(), func(t *testing.T) {
			tr := newTree(t, Config{}, Config{Strategy: strategy}, func(*recorder) []ChildSpec { return nil })
			log := newStartLog(3)
			pids, err := StartAll(tr.ctx(), tr.sys.Root, tr.pid("sut"),
				gatedSpec("a", log, nil), gatedSpec("b", log, nil), gatedSpec("c", log, nil))
			if err != nil || len(pids) != 3 {
				t.Fatalf("StartAll: %d PIDs, %v", len(pids), err)
			}
			want := []string{"enter a", "exit a", "enter b", "exit b", "enter c", "exit c"}
			if got := log.all(); !slices.Equal(got, want) {
				t.Fatalf("starts %v, want %v", got, want)
			}
		})
	}
}

// The first spec that cannot be spawned ends the batch: those before it
// stay supervised, those after it are not spawned.
func TestStartAllStopsAtFirstError(t *testing.T) {
	tr := newTree(t, Config{}, Config{}, three) // a, b, c
	log := newStartLog(4)
	pids, err := StartAll(tr.ctx(), tr.sys.Root, tr.pid("sut"),
		gatedSpec("d", log, nil), gatedSpec("e", log, nil), gatedSpec("b", log, nil), gatedSpec("f", log, nil))
	if !errors.Is(err, ErrDuplicateChild) {
		t.Fatalf("err = %v, want ErrDuplicateChild", err)
	}
	if len(pids) != 2 {
		t.Fatalf("%d PIDs, want 2 (d and e)", len(pids))
	}
	var names []string
	for _, k := range tr.list("sut") {
		names = append(names, k.Name)
	}
	if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(names, want) {
		t.Fatalf("children %v, want %v", names, want)
	}
	if _, ok := tr.env.Directory.Lookup("sut/f"); ok {
		t.Fatal("f was spawned after the failing spec")
	}
	// An invalid spec is refused before anything is sent.
	if _, err := StartAll(tr.ctx(), tr.sys.Root, tr.pid("sut"), ChildSpec{Name: "g"}); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("spec without props: %v, want ErrInvalidSpec", err)
	}
}

// A child that crashes in Started does not hold the batch: it is restarted
// as usual, and the reply lists every child.
func TestStartAllWithACrashingChild(t *testing.T) {
	tr := newTree(t, Config{}, Config{}, func(*recorder) []ChildSpec { return nil })
	specs := []ChildSpec{workerSpec(tr.rec, "x"), crashOnFirstStart(tr.rec, "y"), workerSpec(tr.rec, "z")}
	pids, err := StartAll(tr.ctx(), tr.sys.Root, tr.pid("sut"), specs...)
	if err != nil || len(pids) != 3 {
		t.Fatalf("StartAll: %d PIDs, %v", len(pids), err)
	}
	tr.rec.waitStarts(t, "y", 2)
	tr.events.wait(t, 1, restartedName("sut/y"))
	if got := tr.ping("sut/y"); got != "pong y" {
		t.Fatalf("y answers %q", got)
	}
}
