package signals

import (
	"time"

	"go.uber.org/zap"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/cluster/signalpb"
)

// Reaction is the S5 reaction (vsm's AddReaction) that sends this node's
// own alerts of at least Config.PublishMin to every other member. It
// never blocks: it sends one message per member (a remote Send only
// queues the message for the member's endpoint). Alerts from other nodes carry their Instance and are
// never sent again, so an alert crosses the network once per member.
func (h *Hub) Reaction() func(*algedonic.Alert) {
	return func(a *algedonic.Alert) {
		if a.Instance != "" || a.Node != h.loc().Name || a.Severity < h.loc().PublishMin {
			return
		}
		h.fanOut(a)
	}
}

// fanOut sends a to every other member: one message each; each member's
// actor hands it to its own S5 (the local fan-out).
func (h *Hub) fanOut(a *algedonic.Alert) {
	m, ok := h.attached()
	if !ok {
		h.stats.AlertsFailed.Add(1)
		return
	}
	msg := &signalpb.Alert{
		Severity: int32(a.Severity), Source: a.Source, Reason: a.Reason, Node: a.Node,
		TimeUnixNano: a.Time.UnixNano(), Instance: h.loc().Instance, Member: m.Self().Name,
	}
	for _, x := range h.others(m) {
		// Sent bare (no sender): the receiver gets it with its priority.
		if err := m.Send(h.loc().Root, h.cfg.PIDOf(x), msg); err != nil {
			h.stats.AlertsFailed.Add(1)
			h.log.Debug("signals: cannot send an alert", zap.String("to", x.Name), zap.Error(err))
			continue
		}
		h.stats.AlertsSent.Add(1)
	}
}

// receive hands another member's alert to S5 through Deliver (S5's alert
// lane), ahead of the ordinary messages queued for S5, which the remote
// envelope it came in could not be.
func (h *Hub) receive(m *signalpb.Alert) {
	sev := algedonic.Severity(m.GetSeverity())
	if !sev.Valid() || m.GetNode() == "" && m.GetMember() == "" || m.GetInstance() == "" || m.GetInstance() == h.loc().Instance || h.loc().Deliver == nil {
		h.stats.AlertsRefused.Add(1)
		return
	}
	a := &algedonic.Alert{
		Severity: sev, Source: m.GetSource(), Reason: m.GetReason(), Node: m.GetNode(),
		Time: time.Unix(0, m.GetTimeUnixNano()), Instance: m.GetInstance(),
	}
	if a.Node == "" {
		a.Node = m.GetMember()
	}
	h.stats.AlertsReceived.Add(1)
	h.loc().Deliver(a)
}
