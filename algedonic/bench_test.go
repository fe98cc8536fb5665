package algedonic_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	vsm "github.com/viable-systems/vsm-connections"
	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/supervisor"
	"github.com/viable-systems/vsm-connections/systems/s5"
)

// floodSize is how many ordinary messages wait in S5's mailbox in the
// flooded cases.
const floodSize = 100_000

// spinFor is about how long the flood's sends take here.
const spinFor = 5 * time.Millisecond

// spin keeps the CPU busy for d on registers alone.
func spin(d time.Duration) {
	end := time.Now().Add(d)
	x := uint64(end.UnixNano())
	for time.Now().Before(end) {
		for range 1000 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
	}
	spun.Store(x)
}

var spun atomic.Uint64 // keeps spin's work from being optimised away

// probe is a reaction that signals when it handles a benchmark alert.
//
// The handling time is read inside S5's reaction, not after the benchmark
// goroutine wakes up: S5 goes on with the flood after the alert, and the
// waker's own rescheduling is not the channel's latency.
type probe struct {
	handled chan time.Time
}

func newProbe() *probe { return &probe{handled: make(chan time.Time, 1)} }

func (p *probe) react(a *algedonic.Alert) {
	if a.Source != "bench" {
		return // the node's own alerts, if any
	}
	select {
	case p.handled <- time.Now():
	default: // never block S5 (nor, through the lane, the raiser)
	}
}

// gate is a process that holds whoever sends to it until the gate opens:
// S5's policy actor answering a Ping from the gate is held on its own
// goroutine, with its mailbox filling up behind it, while S5's alert lane
// stays free. (An alert-based gate would hold the lane too.)
type gate struct {
	entered chan struct{}
	open    chan struct{}
}

func (g *gate) SendUserMessage(*actor.PID, any) {
	g.entered <- struct{}{}
	<-g.open
}
func (g *gate) SendSystemMessage(*actor.PID, any) {}
func (g *gate) Stop(*actor.PID)                   {}

func newGate(b *testing.B, node *vsm.Node, name string) (*gate, *actor.PID) {
	g := &gate{entered: make(chan struct{}), open: make(chan struct{})}
	sys := node.Root().ActorSystem()
	pid, ok := sys.ProcessRegistry.Add(g, name)
	if !ok {
		b.Fatalf("gate %q already registered", name)
	}
	b.Cleanup(func() { sys.ProcessRegistry.Remove(pid) })
	return g, pid
}

// BenchmarkAlgedonic measures the time from raising an alert to System 5
// handling it:
//
//	idle          nothing queued in S5's mailbox
//	flooded       100,000 ordinary messages queued in S5's mailbox, S5's
//	              actor parked, and two S1 actors burning both CPUs
//	busy          S5's actor running through 100,000 ordinary messages
//	              (not parked) while two S1 actors burn both CPUs
//	fifo-flooded  the flooded case for an S5 without the lane, on a plain
//	              FIFO mailbox: the alert waits for the whole flood
//
// To have exactly floodSize messages queued, S5's actor is held (idle and
// flooded alike) answering a Ping from a gate process while the flood and
// then the measured alert are queued; the clock starts when the measured
// alert is raised and the gate opens right after. So idle and flooded
// differ only in what waits in the mailbox. p50 and p99 are reported as
// metrics.
func BenchmarkAlgedonic(b *testing.B) {
	ctx := context.Background()
	node, err := vsm.Start(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer node.Stop(ctx)
	p := newProbe()
	if err := node.AddReaction(ctx, "bench", p.react); err != nil {
		b.Fatal(err)
	}
	policy, _ := node.Lookup("s5/policy")
	alerts := node.Alerts()
	g, gatePID := newGate(b, node, "bench-gate")

	raise := func(reason string) { alerts.Raise(algedonic.Warning, "bench", reason) }
	b.Run("idle", func(b *testing.B) {
		report(b, measure(b, node, policy, p, g, gatePID, raise, 0, nil))
	})

	b.Run("flooded", func(b *testing.B) {
		defer busyS1(b, node)()
		report(b, measure(b, node, policy, p, g, gatePID, raise, floodSize, nil))
	})

	// Three controls that take the flooded case apart. idle-busy is idle
	// with the two S1 actors burning the CPUs. flooded-elsewhere is the
	// flooded case with the flood queued for a second, parked policy
	// actor (not S5), so S5's mailbox is empty: the same CPU load and the
	// same 100,000 sends before the alert. spun is idle-busy with the
	// raiser first spinning on the CPU for spinFor, about what the flood's
	// sends take, touching no memory and queueing nothing. If
	// flooded-elsewhere and spun are about as slow as flooded, the cost is
	// the raiser having run that long on a saturated scheduler, not S5's
	// queue.
	b.Run("idle-busy", func(b *testing.B) {
		defer busyS1(b, node)()
		report(b, measure(b, node, policy, p, g, gatePID, raise, 0, nil))
	})

	b.Run("spun", func(b *testing.B) {
		defer busyS1(b, node)()
		report(b, measure(b, node, policy, p, g, gatePID, raise, 0, func() { spin(spinFor) }))
	})

	b.Run("flooded-elsewhere", func(b *testing.B) {
		defer busyS1(b, node)()
		sink := spawnPolicy(b, node, "bench-sink", nil)
		report(b, measure(b, node, sink, p, g, gatePID, raise, floodSize, nil))
	})

	b.Run("busy", func(b *testing.B) {
		defer busyS1(b, node)()
		report(b, measureRunning(b, node, policy, p, raise, floodSize))
	})

	b.Run("fifo-flooded", func(b *testing.B) {
		defer busyS1(b, node)()
		fp := newProbe()
		// No lane bound: alerts go to the actor's mailbox, as a Channel
		// bound to a PID only would send them.
		fifo := spawnPolicy(b, node, "bench-fifo-policy", fp.react)
		raise := func(reason string) {
			node.Root().Send(fifo, &algedonic.Alert{Severity: algedonic.Warning, Source: "bench", Reason: reason})
		}
		report(b, measure(b, node, fifo, fp, g, gatePID, raise, floodSize, nil))
	})
}

// spawnPolicy starts a second S5 policy actor named name under the user
// supervisor, on a plain FIFO mailbox and with no alert lane, that neither
// logs nor publishes (as the other cases' reaction-only path), reacting
// with react if set. It is stopped through its supervisor when b ends, so
// the name is free for the next run.
func spawnPolicy(b *testing.B, node *vsm.Node, name string, react s5.Reaction) *actor.PID {
	ctx := context.Background()
	quiet := algedonic.Emergency + 1
	env := s5.Env{Stats: &s5.Stats{}, Policy: s5.Policy{LogMin: quiet, PublishMin: quiet}}
	if react != nil {
		env.Reactions = []s5.Reaction{react}
	}
	pid, err := node.Spawn(ctx, name, s5.PolicyProps(env).Configure(actor.WithMailbox(actor.Unbounded())))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		user, _ := node.Lookup(vsm.User)
		_ = supervisor.Stop(ctx, node.Root(), user, name)
	})
	return pid
}

// measure raises alerts through raise and returns, for each, the time from
// raising it to p's reaction handling it, with target parked at the gate
// and flood ordinary messages queued for it; prep, if set, runs last
// before the clock starts. target is the actor that handles the alert,
// except in flooded-elsewhere, where it only takes the flood.
func measure(b *testing.B, node *vsm.Node, target *actor.PID, p *probe, g *gate, gatePID *actor.PID, raise func(reason string), flood int, prep func()) []time.Duration {
	root := node.Root()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		b.StopTimer()
		root.RequestWithCustomSender(target, &s5.Ping{}, gatePID)
		// S5 is held in the gate before anything is queued, in every case,
		// so the cases differ only in what waits in the mailbox.
		<-g.entered
		for range flood {
			root.Send(target, &s5.Ping{})
		}
		if prep != nil {
			prep()
		}
		b.StartTimer()
		t0 := time.Now()
		raise("measured")
		g.open <- struct{}{}
		lat = append(lat, (<-p.handled).Sub(t0))
		b.StopTimer()
		// Wait for the flood to drain so every iteration starts alike.
		if _, err := root.RequestFuture(target, &s5.Ping{}, 30*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	return lat
}

// measureRunning is measure for an S5 that is running, not parked: flood
// ordinary messages are queued (S5 starts on them at once) and the alert is
// raised while S5 is still working through them, with whatever else runs
// (busyS1) competing for the CPUs. The clock stops inside the reaction.
func measureRunning(b *testing.B, node *vsm.Node, target *actor.PID, p *probe, raise func(reason string), flood int) []time.Duration {
	root := node.Root()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		b.StopTimer()
		for range flood {
			root.Send(target, &s5.Ping{})
		}
		b.StartTimer()
		t0 := time.Now()
		raise("measured")
		lat = append(lat, (<-p.handled).Sub(t0))
		b.StopTimer()
		if _, err := root.RequestFuture(target, &s5.Ping{}, 30*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	return lat
}

// busyS1 keeps two S1 actors busy until the returned func is called: each
// handles an endless stream of messages of about 5 µs of CPU work, so
// together they keep both CPUs loaded, yielding only where protoactor's
// dispatcher does (every 300 messages).
func busyS1(b *testing.B, node *vsm.Node) func() {
	type spin struct{}
	for _, name := range []string{"bench-busy-1", "bench-busy-2"} {
		props := actor.PropsFromFunc(func(c actor.Context) {
			if _, ok := c.Message().(*spin); ok {
				end := time.Now().Add(5 * time.Microsecond)
				for time.Now().Before(end) {
				}
				c.Send(c.Self(), &spin{})
			}
		})
		pid, err := node.StartChild(context.Background(), vsm.S1, supervisor.ChildSpec{Name: name, Props: props})
		if err != nil {
			b.Fatal(err)
		}
		node.Root().Send(pid, &spin{})
	}
	return func() {
		for _, name := range []string{"bench-busy-1", "bench-busy-2"} {
			s1, _ := node.Lookup(vsm.S1)
			_ = supervisor.Stop(context.Background(), node.Root(), s1, name)
		}
	}
}

func report(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(q(0.50), "p50-ns")
	b.ReportMetric(q(0.99), "p99-ns")
}
