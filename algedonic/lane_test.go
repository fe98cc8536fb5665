package algedonic_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/algedonic"
)

// recorder is a lane handler that records what it handles and fails the
// test if two alerts are ever handled at once.
type recorder struct {
	t       *testing.T
	inside  atomic.Int32
	mu      sync.Mutex
	handled []string
	hook    func(a *algedonic.Alert) // optional, runs inside the handler
}

// gatedRecorder is a recorder whose handling of the alert with reason
// "gate" closes entered and then waits until gate is closed.
func gatedRecorder(t *testing.T) (r *recorder, entered, gate chan struct{}) {
	entered, gate = make(chan struct{}), make(chan struct{})
	r = &recorder{t: t}
	r.hook = func(a *algedonic.Alert) {
		if a.Reason == "gate" {
			close(entered)
			<-gate
		}
	}
	return r, entered, gate
}

func (r *recorder) handle(a *algedonic.Alert) {
	if r.inside.Add(1) != 1 {
		r.t.Error("two alerts handled at once")
	}
	defer r.inside.Add(-1)
	if r.hook != nil {
		r.hook(a)
	}
	r.mu.Lock()
	r.handled = append(r.handled, a.Source+"/"+a.Reason)
	r.mu.Unlock()
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.handled...)
}

func servedLane(t *testing.T, r *recorder, kick func()) *algedonic.Lane {
	t.Helper()
	if kick == nil {
		kick = func() { t.Error("unexpected kick") }
	}
	l := algedonic.NewLane()
	l.Serve(r.handle, kick)
	l.Resume()
	return l
}

func alert(source, reason string) *algedonic.Alert {
	return &algedonic.Alert{Severity: algedonic.Warning, Source: source, Reason: reason}
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-ch:
	case <-ctx.Done():
		t.Fatalf("timed out waiting for %s", what)
	}
}

// An idle lane handles the alert on the poster's goroutine, before Post
// returns: no other goroutine has to be scheduled.
func TestLaneHandlesOnPoster(t *testing.T) {
	r := &recorder{t: t}
	l := servedLane(t, r, nil)
	l.Post(alert("s", "1"))
	if got := r.got(); len(got) != 1 || got[0] != "s/1" {
		t.Fatalf("handled after Post = %v, want [s/1]", got)
	}
	if l.Queued() != 0 {
		t.Fatalf("queued = %d, want 0", l.Queued())
	}
}

// Many posters at once: every alert handled exactly once, one at a time,
// and each source's alerts in the order it posted them.
func TestLaneExactlyOnceInOrderPerSource(t *testing.T) {
	r := &recorder{t: t}
	l := servedLane(t, r, func() {}) // a kick is fine; Drain below takes the rest
	const sources, each = 8, 500
	var wg sync.WaitGroup
	for s := range sources {
		wg.Go(func() {
			for i := range each {
				l.Post(alert(fmt.Sprint("src", s), fmt.Sprint(i)))
			}
		})
	}
	wg.Wait()
	// What the kicked server does: Drain handles a budget's worth and kicks
	// again while more is queued (under load, posters that found the lane
	// busy can leave more than one budget behind).
	for l.Queued() > 0 {
		l.Drain()
	}
	got := r.got()
	if len(got) != sources*each {
		t.Fatalf("handled %d alerts, want %d", len(got), sources*each)
	}
	next := map[string]int{}
	for _, h := range got {
		var s, i int
		if _, err := fmt.Sscanf(h, "src%d/%d", &s, &i); err != nil {
			t.Fatalf("bad record %q", h)
		}
		key := fmt.Sprint(s)
		if i != next[key] {
			t.Fatalf("source %d: handled %d, want %d (duplicate, lost or out of order)", s, i, next[key])
		}
		next[key]++
	}
}

// An alert posted from inside the handler (a hook that raises) neither
// deadlocks nor jumps the queue: it is handled next, before the outer
// Post returns.
func TestLaneReentrantPost(t *testing.T) {
	r := &recorder{t: t}
	var l *algedonic.Lane
	r.hook = func(a *algedonic.Alert) {
		if a.Reason == "outer" {
			l.Post(alert("s", "inner"))
		}
	}
	l = servedLane(t, r, nil)
	l.Post(alert("s", "outer"))
	got := r.got()
	if len(got) != 2 || got[0] != "s/outer" || got[1] != "s/inner" {
		t.Fatalf("handled = %v, want [s/outer s/inner]", got)
	}
}

// A poster that finds the lane busy returns at once; the busy poster
// handles its alert. Past the budget, the rest goes to the server through
// one kick.
func TestLaneBusyPosterQueuesAndBudgetKicks(t *testing.T) {
	r, entered, gate := gatedRecorder(t)
	var kicks atomic.Int32
	l := servedLane(t, r, func() { kicks.Add(1) })
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Post(alert("a", "gate"))
	}()
	waitFor(t, entered, "the first poster to hold the lane")
	const more = 100
	for i := range more {
		l.Post(alert("b", fmt.Sprint(i))) // returns although the lane is busy
	}
	if got := l.Queued(); got != more {
		t.Fatalf("queued = %d, want %d", got, more)
	}
	close(gate)
	waitFor(t, done, "the first poster to return")
	got := r.got()
	// The first poster handled its own alert and 63 more (the budget is
	// 64), then kicked the server once.
	if len(got) != 64 || got[0] != "a/gate" || got[63] != "b/62" || kicks.Load() != 1 {
		t.Fatalf("after the first poster: %d handled (last %q), %d kicks; want 64 (last b/62), 1 kick",
			len(got), got[len(got)-1], kicks.Load())
	}
	l.Drain()
	got = r.got()
	if len(got) != 1+more || got[len(got)-1] != fmt.Sprint("b/", more-1) || kicks.Load() != 1 {
		t.Fatalf("after Drain: %d handled, %d kicks; want %d, 1", len(got), kicks.Load(), 1+more)
	}
}

// Paused, the lane queues; Pause waits for the alert being handled;
// Resume handles the backlog, in order.
func TestLanePauseResume(t *testing.T) {
	r, entered, gate := gatedRecorder(t)
	l := servedLane(t, r, nil)
	go l.Post(alert("a", "gate"))
	waitFor(t, entered, "the poster to hold the lane")
	paused := make(chan struct{})
	go func() {
		l.Pause()
		close(paused)
	}()
	select {
	case <-paused:
		t.Fatal("Pause returned while an alert was being handled")
	default:
	}
	close(gate)
	waitFor(t, paused, "Pause")
	l.Post(alert("b", "1"))
	l.Post(alert("b", "2"))
	if got := r.got(); len(got) != 1 || l.Queued() != 2 {
		t.Fatalf("paused: handled %v, queued %d; want [a/gate], 2", got, l.Queued())
	}
	l.Resume()
	if got := r.got(); len(got) != 3 || got[1] != "b/1" || got[2] != "b/2" {
		t.Fatalf("after Resume: %v", got)
	}
}

// A lane paused for good holds at most DefaultLaneBacklog alerts and
// counts the rest.
func TestLaneBacklogBound(t *testing.T) {
	l := algedonic.NewLane() // paused, never served
	for range algedonic.DefaultLaneBacklog + 3 {
		l.Post(alert("s", "x"))
	}
	if l.Queued() != algedonic.DefaultLaneBacklog || l.Dropped() != 3 {
		t.Fatalf("queued %d, dropped %d; want %d, 3", l.Queued(), l.Dropped(), algedonic.DefaultLaneBacklog)
	}
}

// A handler's panic goes up the poster's stack but does not leave the
// lane busy.
func TestLanePanicFreesLane(t *testing.T) {
	r := &recorder{t: t}
	r.hook = func(a *algedonic.Alert) {
		if a.Reason == "boom" {
			panic("boom")
		}
	}
	l := servedLane(t, r, nil)
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Fatalf("recovered %v, want boom", v)
			}
		}()
		l.Post(alert("s", "boom"))
	}()
	l.Post(alert("s", "after"))
	if got := r.got(); len(got) != 1 || got[0] != "s/after" {
		t.Fatalf("handled = %v, want [s/after]", got)
	}
}

// A channel bound to a lane posts to it: the alert is handled before
// Raise returns, stamped with the channel's node.
func TestChannelBoundToLane(t *testing.T) {
	var got []*algedonic.Alert
	l := algedonic.NewLane()
	l.Serve(func(a *algedonic.Alert) { got = append(got, a) }, func() {})
	l.Resume()
	ch := algedonic.NewChannel(nil, "n1")
	ch.BindLane(l)
	ch.Raise(algedonic.Critical, "src", "r")
	if len(got) != 1 || got[0].Node != "n1" || got[0].Source != "src" || ch.Sent() != 1 || ch.Lost() != 0 {
		t.Fatalf("got %v, sent %d, lost %d", got, ch.Sent(), ch.Lost())
	}
	ch.BindLane(nil)
	ch.Raise(algedonic.Critical, "src", "r")
	if len(got) != 1 || ch.Lost() != 1 {
		t.Fatalf("unbound: got %d, lost %d; want 1, 1", len(got), ch.Lost())
	}
}
