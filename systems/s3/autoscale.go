package s3

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/pool"
)

// The autoscaler's actions (event.ControlAction.Action).
const (
	ActionScaleUp   = "scale_up"
	ActionScaleDown = "scale_down"
)

// DefaultAutoscaleInterval is how often the autoscaler reviews its pools
// by default.
const DefaultAutoscaleInterval = 10 * time.Second

// Autoscale keeps a pool's size within [Min, Max] from its checkout wait
// and utilisation (the seed's "if active > 8, resize to 15", made a
// policy). At each review, over the interval since the last one:
//
//   - it grows by half (at least 1, at most to Max) when callers wait now,
//     a checkout timed out, the mean checkout wait reached TargetWait, or
//     the utilisation (in use / size) is at least High;
//   - it shrinks by a quarter (at least 1, at least to Min) when nobody
//     waited and the utilisation is at most Low;
//   - a size outside [Min, Max] is brought inside.
type Autoscale struct {
	Pool       string
	Min, Max   int
	TargetWait time.Duration
	// High and Low are fractions of the size, e.g. 0.8 and 0.3.
	High, Low float64
}

// decide is the autoscaler's rule: the size the pool should have after
// the interval from prev to cur, and why; want == cur.Size means no change.
func (a Autoscale) decide(prev, cur pool.Stats) (want int, reason string) {
	size := cur.Size
	switch {
	case size < a.Min:
		return a.Min, fmt.Sprintf("size %d is below min %d", size, a.Min)
	case size > a.Max:
		return a.Max, fmt.Sprintf("size %d is above max %d", size, a.Max)
	}
	util := float64(cur.InUse) / float64(max(size, 1))
	checkouts := cur.Wait.Count - min(prev.Wait.Count, cur.Wait.Count)
	var mean time.Duration
	if checkouts > 0 {
		mean = (cur.Wait.Sum - prev.Wait.Sum) / time.Duration(checkouts)
	}
	timeouts := cur.Timeouts - min(prev.Timeouts, cur.Timeouts)
	var why string
	switch {
	case cur.Waiting > 0:
		why = fmt.Sprintf("%d callers waiting for a slot", cur.Waiting)
	case timeouts > 0:
		why = fmt.Sprintf("%d checkouts timed out", timeouts)
	case checkouts > 0 && a.TargetWait > 0 && mean >= a.TargetWait:
		why = fmt.Sprintf("mean checkout wait %v >= %v", mean, a.TargetWait)
	case util >= a.High:
		why = fmt.Sprintf("utilisation %.0f%% (%d/%d in use) >= %.0f%%", util*100, cur.InUse, size, a.High*100)
	}
	if why != "" {
		if size >= a.Max {
			return size, ""
		}
		return min(a.Max, size+max(1, size/2)), why
	}
	if util <= a.Low && timeouts == 0 && (checkouts == 0 || mean < a.TargetWait) && size > a.Min {
		return max(a.Min, size-max(1, size/4)), fmt.Sprintf("utilisation %.0f%% (%d/%d in use) <= %.0f%% and nobody waited", util*100, cur.InUse, size, a.Low*100)
	}
	return size, ""
}

// autoscaleDue is sent by the autoscaler's timer.
type autoscaleDue struct{}

// scaled reports a resize the autoscaler ran off the mailbox.
type scaled struct {
	i          int
	from, want int
	to         int
	reason     string
	err        error
}

// review decides every autoscaled pool's size and starts the resizes, each
// on a goroutine of its own (a resize asks the pool's actor, which must
// not stall the controller's mailbox); one per pool at a time.
func (a *controller) review(ctx actor.Context) {
	c := a.c
	root, self := ctx.ActorSystem().Root, ctx.Self()
	for i, as := range c.env.Autoscale {
		p, ok := c.s3.pools.Pool(as.Pool)
		if !ok || a.scaling[i] {
			continue
		}
		cur := p.Stats().Stats
		prev, seen := c.prevStats[i], c.seen[i]
		c.prevStats[i], c.seen[i] = cur, true
		if !seen {
			prev = cur // the first review has no interval to judge
			if cur.Size >= as.Min && cur.Size <= as.Max {
				continue
			}
		}
		want, reason := as.decide(prev, cur)
		if want == cur.Size {
			continue
		}
		a.scaling[i] = true
		name, from := as.Pool, cur.Size
		go func() {
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			st, err := c.s3.Resize(rctx, name, want)
			to := st.Size
			if err != nil {
				to = from
			}
			root.Send(self, &scaled{i: i, from: from, want: want, to: to, reason: reason, err: err})
		}()
	}
}

func (a *controller) scaledDone(m *scaled) {
	a.scaling[m.i] = false
	action := ActionScaleUp
	if m.want < m.from {
		action = ActionScaleDown
	}
	ev := &event.ControlAction{Action: action, Target: "pool/" + a.c.env.Autoscale[m.i].Pool,
		Reason: fmt.Sprintf("size %d -> %d: %s", m.from, m.want, m.reason), At: time.Now()}
	if m.err != nil {
		ev.Err = m.err.Error()
	}
	a.c.publish(ev)
}
