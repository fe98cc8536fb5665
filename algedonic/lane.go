package algedonic

import (
	"sync"
	"sync/atomic"
)

// DefaultLaneBacklog bounds the alerts a Lane holds while paused (its
// server restarting, or gone for good). Past it, alerts are counted as
// dropped.
const DefaultLaneBacklog = 1 << 16

// laneBudget is how many alerts one poster handles before it hands the
// rest to the server's own goroutine (the kick): a raiser lends its
// goroutine for a few alerts, never for an alert storm.
const laneBudget = 64

// Lane is System 5's dedicated alert path: it runs S5's alert handling on
// the goroutine that raises the alert, when no other alert is being
// handled, so that an alert never waits for the Go scheduler to run S5.
//
// Why not a mailbox: an actor's mailbox, however high the alert's
// priority, is only read when its goroutine runs, and a busy S5 yields
// (runtime.Gosched) every 300 messages behind every other busy goroutine:
// Go has no goroutine priorities. A Lane needs no wake-up at all.
//
// Guarantees: every posted alert is handled exactly once (unless dropped
// while paused, and counted), one at a time, in the order posted (so in
// order per source when a source raises from one goroutine). Post never
// waits for another poster: when the lane is busy, the alert is queued
// and the goroutine handling the lane handles it next. A poster handles at
// most a few alerts (its own and those queued while it handles them);
// more are handed to the server's goroutine through the kick function.
//
// A Lane starts paused. Its server (S5's policy actor) calls Serve once,
// Resume when it runs and Pause when it stops or restarts: while paused,
// alerts queue up (up to DefaultLaneBacklog) and are handled by whoever
// drains the lane after Resume.
type Lane struct {
	mu      sync.Mutex
	idle    sync.Cond // signalled when a drainer lets go of the lane
	q       []*Alert
	head    int
	busy    bool // a goroutine is draining the lane
	paused  bool
	handle  func(*Alert)
	kick    func()
	dropped atomic.Uint64
}

// NewLane returns a paused lane with no server.
func NewLane() *Lane {
	l := &Lane{paused: true}
	l.idle.L = &l.mu
	return l
}

// Serve sets the function that handles each alert (it should not panic:
// a panic goes up the poster's stack) and the function that
// asks the server to call Drain on a goroutine of its own (it must not
// block, and must not call Drain itself). Call it before Resume.
func (l *Lane) Serve(handle func(*Alert), kick func()) {
	l.mu.Lock()
	l.handle, l.kick = handle, kick
	l.mu.Unlock()
}

// Post queues a and, unless the lane is busy or paused, handles it (and
// anything queued meanwhile) on the caller's goroutine before returning.
func (l *Lane) Post(a *Alert) {
	l.mu.Lock()
	if l.paused && len(l.q)-l.head >= DefaultLaneBacklog {
		l.mu.Unlock()
		l.dropped.Add(1)
		return
	}
	if l.head > 1024 && l.head*2 > len(l.q) {
		// A lane that never empties: reuse the front of the buffer.
		n := copy(l.q, l.q[l.head:])
		clear(l.q[n:])
		l.q, l.head = l.q[:n], 0
	}
	l.q = append(l.q, a)
	if l.busy || l.paused || l.handle == nil {
		l.mu.Unlock()
		return
	}
	l.busy = true
	l.mu.Unlock()
	l.drain()
}

// Drain handles the queued alerts on the caller's goroutine, unless
// another goroutine is already doing so or the lane is paused.
func (l *Lane) Drain() {
	l.mu.Lock()
	if l.busy || l.paused || l.handle == nil || l.head == len(l.q) {
		l.mu.Unlock()
		return
	}
	l.busy = true
	l.mu.Unlock()
	l.drain()
}

// drain runs with l.busy set by the caller.
func (l *Lane) drain() {
	for n := 0; ; n++ {
		l.mu.Lock()
		if l.head == len(l.q) || l.paused || n == laneBudget {
			more := l.head < len(l.q) && !l.paused
			l.busy = false
			l.idle.Broadcast()
			if l.head == len(l.q) {
				l.q, l.head = l.q[:0], 0 // popped slots are nil already
			}
			kick := l.kick
			l.mu.Unlock()
			if more {
				kick()
			}
			return
		}
		a := l.q[l.head]
		l.q[l.head] = nil
		l.head++
		handle := l.handle
		l.mu.Unlock()
		l.run(handle, a)
	}
}

// run calls handle; a panic it lets through frees the lane before it goes
// on up the caller's stack, so that the lane does not stay busy for ever.
func (l *Lane) run(handle func(*Alert), a *Alert) {
	ok := false
	defer func() {
		if !ok {
			l.mu.Lock()
			l.busy = false
			l.idle.Broadcast()
			l.mu.Unlock()
		}
	}()
	handle(a)
	ok = true
}

// Pause stops the lane handling alerts and waits until the alert being
// handled, if any, is done. It must not be called from the handle
// function.
func (l *Lane) Pause() {
	l.mu.Lock()
	l.paused = true
	for l.busy {
		l.idle.Wait()
	}
	l.mu.Unlock()
}

// Resume lets the lane handle alerts again and handles the backlog on the
// caller's goroutine.
func (l *Lane) Resume() {
	l.mu.Lock()
	l.paused = false
	l.mu.Unlock()
	l.Drain()
}

// Queued is the number of alerts waiting in the lane.
func (l *Lane) Queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.q) - l.head
}

// Dropped is the number of alerts refused because the paused lane's
// backlog was full.
func (l *Lane) Dropped() uint64 { return l.dropped.Load() }
