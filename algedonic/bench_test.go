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

// BenchmarkAlgedonic measures the time from raising an alert to System 5
// handling it:
//
//	idle          S5's mailbox empty
//	flooded       100,000 ordinary messages queued in S5's priority mailbox
//	              ahead of the alert, and S1 actors burning both CPUs
//	fifo-flooded  the same, through a plain FIFO mailbox: what the
//	              algedonic channel saves
//
// The flood is queued while S5's mailbox is suspended (a protoactor system
// message), so exactly floodSize messages are ahead of the alert when the
// mailbox resumes; the clock starts before the alert is sent and before the
// resume. p50 and p99 are reported as metrics.
func BenchmarkAlgedonic(b *testing.B) {
	ctx := context.Background()
	node, err := vsm.Start(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer node.Stop(ctx)
	handled := make(chan struct{}, 1)
	if err := node.AddReaction(ctx, "bench", func(*algedonic.Alert) { handled <- struct{}{} }); err != nil {
		b.Fatal(err)
	}
	policy, _ := node.Lookup("s5/policy")
	sys := node.ActorSystem()

	b.Run("idle", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			t0 := time.Now()
			node.Alerts().Raise(algedonic.Warning, "bench", "idle")
			<-handled
			lat = append(lat, time.Since(t0))
		}
		report(b, lat)
	})

	b.Run("flooded", func(b *testing.B) {
		stopBusy := busyS1(b, node)
		defer stopBusy()
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			suspend(sys, policy)
			for range floodSize {
				sys.Root.Send(policy, &s5.Ping{})
			}
			t0 := time.Now()
			node.Alerts().Raise(algedonic.Warning, "bench", "flooded")
			resume(sys, policy)
			<-handled
			lat = append(lat, time.Since(t0))
			drain(b, sys, policy)
		}
		report(b, lat)
	})

	b.Run("fifo-flooded", func(b *testing.B) {
		stopBusy := busyS1(b, node)
		defer stopBusy()
		fifoHandled := make(chan struct{}, 1)
		props := s5.PolicyProps(s5.Env{Stats: &s5.Stats{}, Policy: s5.Policy{LogMin: algedonic.Emergency + 1, PublishMin: algedonic.Emergency + 1},
			Reactions: []s5.Reaction{func(*algedonic.Alert) { fifoHandled <- struct{}{} }}}).
			Configure(actor.WithMailbox(actor.Unbounded()))
		fifo, err := node.Spawn(ctx, "bench-fifo-policy", props)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = sys.Root.StopFuture(fifo).Wait() }()
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			suspend(sys, fifo)
			for range floodSize {
				sys.Root.Send(fifo, &s5.Ping{})
			}
			t0 := time.Now()
			sys.Root.Send(fifo, &algedonic.Alert{Severity: algedonic.Warning, Source: "bench", Reason: "fifo"})
			resume(sys, fifo)
			<-fifoHandled
			lat = append(lat, time.Since(t0))
			drain(b, sys, fifo)
		}
		report(b, lat)
	})
}

func suspend(sys *actor.ActorSystem, pid *actor.PID) {
	p, _ := sys.ProcessRegistry.Get(pid)
	p.SendSystemMessage(pid, &actor.SuspendMailbox{})
}

func resume(sys *actor.ActorSystem, pid *actor.PID) {
	p, _ := sys.ProcessRegistry.Get(pid)
	p.SendSystemMessage(pid, &actor.ResumeMailbox{})
}

// drain waits until the flood behind the alert has been consumed, so the
// next iteration starts from an empty mailbox.
func drain(b *testing.B, sys *actor.ActorSystem, pid *actor.PID) {
	b.StopTimer()
	defer b.StartTimer()
	if _, err := sys.Root.RequestFuture(pid, &s5.Ping{}, 30*time.Second).Result(); err != nil {
		b.Fatal(err)
	}
}

// busyS1 keeps two S1 actors burning CPU until the returned func is called.
func busyS1(b *testing.B, node *vsm.Node) func() {
	type spin struct{}
	var pids []*actor.PID
	for _, name := range []string{"bench-busy-1", "bench-busy-2"} {
		props := actor.PropsFromFunc(func(c actor.Context) {
			if _, ok := c.Message().(*spin); ok {
				end := time.Now().Add(50 * time.Microsecond)
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
		pids = append(pids, pid)
	}
	return func() {
		for _, pid := range pids {
			_ = node.Root().StopFuture(pid).Wait()
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
