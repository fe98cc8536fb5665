package algedonic

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Raiser is what code that raises alerts needs. *Channel implements it; a
// test can pass its own.
type Raiser interface {
	Raise(sev Severity, source, reason string)
}

// Channel is the path from any goroutine or actor straight to System 5. It
// does not climb the supervision tree. Bound to S5's Lane (BindLane, what
// the node does), an alert is handed to S5's alert handling directly, on
// the raiser's goroutine when S5 is not already handling one: no mailbox,
// no wait for the scheduler. Bound to a PID only (Bind), it is sent bare
// to that PID, so that a priority mailbox lets it overtake everything
// queued there.
//
// A Channel is safe for concurrent use. Until Bind or BindLane is called,
// alerts are counted as lost.
type Channel struct {
	sender actor.SenderContext
	node   string
	s5     atomic.Pointer[actor.PID]
	lane   atomic.Pointer[Lane]
	now    func() time.Time
	sent   atomic.Uint64
	lost   atomic.Uint64
}

var _ Raiser = (*Channel)(nil)

// NewChannel returns a channel that sends from sender and stamps alerts with
// node.
func NewChannel(sender actor.SenderContext, node string) *Channel {
	return &Channel{sender: sender, node: node, now: time.Now}
}

// Bind points the channel at S5's PID; nil unbinds it.
func (c *Channel) Bind(s5 *actor.PID) { c.s5.Store(s5) }

// BindLane makes the channel post alerts to l, ahead of any PID bound; nil
// unbinds it.
func (c *Channel) BindLane(l *Lane) { c.lane.Store(l) }

// Target is the bound S5 PID, or nil.
func (c *Channel) Target() *actor.PID { return c.s5.Load() }

// Raise sends an alert to S5. It never waits for another goroutine; bound
// to a Lane, it may run S5's handling of this and a few other alerts
// before it returns (see Lane).
func (c *Channel) Raise(sev Severity, source, reason string) {
	c.Send(&Alert{Severity: sev, Source: source, Reason: reason, Node: c.node, Time: c.now()})
}

// Send delivers a prepared alert, filling in Node and Time when empty.
func (c *Channel) Send(a *Alert) {
	lane := c.lane.Load()
	pid := c.s5.Load()
	if lane == nil && pid == nil {
		c.lost.Add(1)
		return
	}
	if a.Node == "" || a.Time.IsZero() {
		cp := *a
		if cp.Node == "" {
			cp.Node = c.node
		}
		if cp.Time.IsZero() {
			cp.Time = c.now()
		}
		a = &cp
	}
	// Counted first: a lane may handle the alert before Post returns, and
	// whoever sees it handled should see it sent.
	c.sent.Add(1)
	if lane != nil {
		lane.Post(a)
		return
	}
	c.sender.Send(pid, a)
}

// Sent is the number of alerts handed to S5's lane or mailbox.
func (c *Channel) Sent() uint64 { return c.sent.Load() }

// Lost is the number of alerts raised while no S5 was bound.
func (c *Channel) Lost() uint64 { return c.lost.Load() }

// Nop is a Raiser that discards alerts.
type Nop struct{}

func (Nop) Raise(Severity, string, string) {}
