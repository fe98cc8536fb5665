package algedonic_test

import (
	"context"
	"slices"
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

// probe is a reaction that holds S5 while the gate alert is handled (so the
// flood queues up behind a busy actor, as it would in production) and
// signals every other alert.
//
// The handling time is read inside S5's reaction, not after the benchmark
// goroutine wakes up: S5 goes on with the flood after the alert, and the
// waker's own rescheduling is not the channel's latency.
type probe struct {
	entered chan struct{}
	gate    chan struct{}
	handled chan time.Time
}

func newProbe() *probe {
	return &probe{entered: make(chan struct{}), gate: make(chan struct{}), handled: make(chan time.Time, 1)}
}

func (p *probe) react(a *algedonic.Alert) {
	if a.Reason == "gate" {
		p.entered <- struct{}{}
		<-p.gate
		return
	}
	p.handled <- time.Now()
}

// BenchmarkAlgedonic measures the time from raising an alert to System 5
// handling it:
//
//	idle          nothing queued in S5's mailbox
//	busy          S5 running through 100,000 ordinary messages (not parked)
//	              while two S1 actors burn both CPUs
//	flooded       100,000 ordinary messages queued in S5's priority mailbox
//	              ahead of the alert, and two S1 actors burning both CPUs
//	fifo-flooded  the same through a plain FIFO mailbox: what the
//	              algedonic channel saves
//
// To have exactly floodSize messages ahead of the alert, S5 is held inside
// the handling of a "gate" alert while the flood and then the measured
// alert are queued; the clock starts when the measured alert is raised and
// the gate opens right after. idle goes through the same gate with nothing
// queued, so the three cases differ only in what waits in the mailbox.
// p50 and p99 are reported as metrics.
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

	raise := func(reason string) { alerts.Raise(algedonic.Warning, "bench", reason) }
	b.Run("idle", func(b *testing.B) {
		report(b, measure(b, node, policy, p, raise, 0))
	})

	b.Run("flooded", func(b *testing.B) {
		defer busyS1(b, node)()
		report(b, measure(b, node, policy, p, raise, floodSize))
	})

	b.Run("busy", func(b *testing.B) {
		defer busyS1(b, node)()
		report(b, measureRunning(b, node, policy, p, raise, floodSize))
	})

	b.Run("fifo-flooded", func(b *testing.B) {
		defer busyS1(b, node)()
		fp := newProbe()
		quiet := algedonic.Emergency + 1 // neither logged nor published, as in the other cases' reaction-only path
		props := s5.PolicyProps(s5.Env{Stats: &s5.Stats{}, Policy: s5.Policy{LogMin: quiet, PublishMin: quiet},
			Reactions: []s5.Reaction{fp.react}}).
			Configure(actor.WithMailbox(actor.Unbounded()))
		fifo, err := node.Spawn(ctx, "bench-fifo-policy", props)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = node.Root().StopFuture(fifo).Wait() }()
		raise := func(reason string) {
			node.Root().Send(fifo, &algedonic.Alert{Severity: algedonic.Warning, Source: "bench", Reason: reason})
		}
		report(b, measure(b, node, fifo, fp, raise, floodSize))
	})
}

// measure raises alerts through raise and returns, for each, the time from
// raising it to target's reaction handling it, with flood ordinary
// messages queued ahead of it.
func measure(b *testing.B, node *vsm.Node, target *actor.PID, p *probe, raise func(reason string), flood int) []time.Duration {
	root := node.Root()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		b.StopTimer()
		raise("gate")
		// S5 is held in the gate before anything is queued, in every case,
		// so the cases differ only in what waits in the mailbox.
		<-p.entered
		for range flood {
			root.Send(target, &s5.Ping{})
		}
		b.StartTimer()
		t0 := time.Now()
		raise("measured")
		p.gate <- struct{}{}
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
