package s5

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
)

// ErrPanic is matched by the error of an action whose hook panicked.
var ErrPanic = errors.New("s5: action panicked")

// ErrNoHook is matched by the error of an action whose hook (Breakers,
// Pools) was not given.
var ErrNoHook = errors.New("s5: no hook for this action")

// Breakers is what open_breaker acts on. The node implements it with its
// breakers; a shared breaker's coordinator spreads a forced open across
// the cluster. Open must not block: it runs on S5's alert lane (see
// Reaction).
type Breakers interface {
	Open(name string) error
}

// Pools is what shed_pool acts on. Shed caps the pool's size at
// target.Size(its configured size), through the pool's actor (the only
// writer of the size), and never grows it. It runs on S5's shed worker,
// never on the policy actor, with a bounded ctx.
type Pools interface {
	Shed(ctx context.Context, name string, target ShedTarget) (ShedResult, error)
}

// Publisher publishes an alert beyond the node (the cluster's alert
// channels). Publish must not block.
type Publisher interface {
	Publish(*algedonic.Alert)
}

// Hooks are what policy rules act on. Any may be nil.
type Hooks struct {
	Breakers  Breakers
	Pools     Pools
	Publisher Publisher
}

// WebhookRuleHeader names the rule in a webhook call.
const WebhookRuleHeader = "X-VSM-Rule"

// maxWebhookReply is how much of a webhook's reply is read (and dropped) so
// that the exchange ends cleanly.
const maxWebhookReply = 4 << 10

func (p *core) startWorkers() {
	var hooks, sheds bool
	for _, r := range p.rules.rules {
		for _, a := range r.actions {
			hooks = hooks || a.Webhook != ""
			sheds = sheds || a.ShedPool != ""
		}
	}
	if hooks && p.webhooks == nil {
		w := p.rules.webhooks
		p.webhooks = startDispatcher(w.Workers, w.Queue, &p.env.Stats.webhooks)
	}
	// One worker: sheds are quick round trips to pool actors, and rare.
	if sheds && p.sheds == nil {
		p.sheds = startDispatcher(1, shedQueue, &p.env.Stats.sheds)
	}
}

func (p *core) stopWorkers() {
	for _, d := range []**dispatcher{&p.webhooks, &p.sheds} {
		if *d != nil {
			(*d).stop()
			*d = nil
		}
	}
}

// decision is one (rule, action) applied to an alert; report publishes it.
type decision struct {
	alert  algedonic.Alert
	rule   string
	reason string
	action string
	target string
}

// decide applies the matching rules' actions to a.
func (p *core) decide(a *algedonic.Alert) {
	if len(p.rules.rules) == 0 {
		return
	}
	ms := p.rules.match(a)
	if len(ms) == 0 {
		p.report(decision{alert: *a, reason: "no rule matched"}, OutcomeNoMatch, "", nil)
		return
	}
	hooks := *p.env.Stats.hooks.Load()
	for _, m := range ms {
		for _, act := range m.rule.actions {
			d := decision{alert: *a, rule: m.rule.name, reason: m.reason, action: act.Kind()}
			p.act(d, act, hooks)
		}
	}
}

func (p *core) act(d decision, act config.PolicyAction, hooks Hooks) {
	// A hook that panics fails its action only: it neither restarts the
	// policy actor nor stops the other actions.
	defer func() {
		if v := recover(); v != nil {
			p.report(d, OutcomeFailed, "", fmt.Errorf("%w: %v", ErrPanic, v))
		}
	}()
	a := &d.alert
	switch d.action {
	case ActionLog:
		d.target = act.Log
		lvl, err := zapcore.ParseLevel(act.Log)
		if err != nil {
			p.report(d, OutcomeFailed, "", err)
			return
		}
		p.env.Logger.Log(lvl, "s5/policy: alert matched a rule", zap.String("rule", d.rule),
			zap.String("severity", a.Severity.String()), zap.String("source", a.Source),
			zap.String("reason", a.Reason), zap.String("node", a.Node), zap.String("why", d.reason))
		p.report(d, OutcomeDone, "", nil)
	case ActionPublish:
		if a.Severity >= p.env.Policy.PublishMin {
			p.report(d, OutcomeSkipped, "already published: severity >= publish_min", nil)
			return
		}
		p.publish(a)
		detail := "event stream"
		// Alerts from other nodes were published by their node already.
		if hooks.Publisher != nil && a.Node == p.env.Identity.Node {
			hooks.Publisher.Publish(a)
			detail = "event stream and cluster"
		}
		p.report(d, OutcomeDone, detail, nil)
	case ActionOpenBreaker:
		d.target = act.OpenBreaker
		if hooks.Breakers == nil {
			p.report(d, OutcomeFailed, "", fmt.Errorf("breaker %q: %w", act.OpenBreaker, ErrNoHook))
			return
		}
		if err := hooks.Breakers.Open(act.OpenBreaker); err != nil {
			p.report(d, OutcomeFailed, "", err)
			return
		}
		p.report(d, OutcomeDone, "forced open", nil)
	case ActionShedPool:
		d.target = act.ShedPool
		if hooks.Pools == nil {
			p.report(d, OutcomeFailed, "", fmt.Errorf("pool %q: %w", act.ShedPool, ErrNoHook))
			return
		}
		target := ShedTarget{Fraction: act.Fraction, MinSize: act.MinSize}
		p.handOff(p.sheds, d, func(ctx context.Context) (func(), error) {
			ctx, cancel := context.WithTimeout(ctx, DefaultShedTimeout)
			defer cancel()
			res, err := hooks.Pools.Shed(ctx, act.ShedPool, target)
			switch {
			case err != nil:
				return func() { p.report(d, OutcomeFailed, "", err) }, err
			case res.From == res.To:
				return func() {
					p.report(d, OutcomeSkipped, fmt.Sprintf("size %d is at or below the target", res.From), nil)
				}, nil
			}
			return func() { p.report(d, OutcomeDone, fmt.Sprintf("size %d -> %d", res.From, res.To), nil) }, nil
		})
	case ActionWebhook:
		d.target = act.Webhook
		timeout := act.Timeout.D()
		p.handOff(p.webhooks, d, func(ctx context.Context) (func(), error) {
			detail, err := p.post(ctx, act.Webhook, timeout, d.rule, &d.alert)
			if err != nil {
				return func() { p.report(d, OutcomeFailed, detail, err) }, err
			}
			return func() { p.report(d, OutcomeDone, detail, nil) }, nil
		})
	}
}

// handOff queues j on w, reporting a drop when the queue is full. A panic
// of j (a hook's) fails that action, not the worker.
func (p *core) handOff(w *dispatcher, d decision, j job) {
	safe := func(ctx context.Context) (report func(), err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("%w: %v", ErrPanic, v)
				report = func() { p.report(d, OutcomeFailed, "", err) }
			}
		}()
		return j(ctx)
	}
	if w == nil || !w.offer(safe) {
		if w == nil {
			// Not started (the actor is stopping): the job is lost all the
			// same, and counted as such.
			p.countDrop(d.action)
		}
		p.report(d, OutcomeDropped, "", ErrQueueFull)
	}
}

func (p *core) countDrop(action string) {
	if action == ActionWebhook {
		p.env.Stats.webhooks.dropped.Add(1)
	} else {
		p.env.Stats.sheds.dropped.Add(1)
	}
}

// post sends the alert as JSON. Only a 2xx reply is a success.
func (p *core) post(ctx context.Context, url string, timeout time.Duration, rule string, a *algedonic.Alert) (string, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("s5: webhook: encode alert: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("s5: webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(WebhookRuleHeader, rule)
	resp, err := p.env.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("s5: webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookReply))
	_ = resp.Body.Close()
	detail := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return detail, fmt.Errorf("s5: webhook: %w: %s", ErrWebhookStatus, resp.Status)
	}
	return detail, nil
}

// ErrWebhookStatus is matched by the error of a webhook call answered with
// a status other than 2xx.
var ErrWebhookStatus = errors.New("webhook answered with an error status")

// publish puts a on the event stream as *event.AlertRaised.
func (p *core) publish(a *algedonic.Alert) {
	if p.env.Events == nil {
		return
	}
	p.env.Events.Publish(alertRaised(a))
}

// alertRaised is called by the policy actor as it handles a, so Received
// is when the alert reached S5: Received - At is the algedonic path's
// latency (across nodes it includes their clock skew).
func alertRaised(a *algedonic.Alert) *event.AlertRaised {
	now := time.Now()
	at := a.Time
	if at.IsZero() {
		at = now
	}
	return &event.AlertRaised{Severity: a.Severity.String(), Source: a.Source, Reason: a.Reason, Node: a.Node,
		At: at, Received: now}
}

// report publishes the decision as *event.PolicyDecided; failures and drops
// are logged too. Safe from the workers' goroutines.
func (p *core) report(d decision, outcome, detail string, err error) {
	ev := &event.PolicyDecided{Alert: *alertRaised(&d.alert), Rule: d.rule, Action: d.action, Target: d.target,
		Outcome: outcome, Reason: d.reason, Detail: detail, At: time.Now()}
	if err != nil {
		ev.Err = err.Error()
		p.env.Logger.Warn("s5/policy: action "+outcome, zap.String("rule", d.rule), zap.String("action", d.action),
			zap.String("target", d.target), zap.String("source", d.alert.Source), zap.Error(err))
	}
	if p.env.Events != nil {
		p.env.Events.Publish(ev)
	}
}
