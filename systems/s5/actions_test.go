package s5_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/breaker"
	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/ask"
	"github.com/viable-systems/vsm-connections/systems/s5"
)

const wait = 10 * time.Second

// harness runs one policy actor with the given env and collects its
// events.
type harness struct {
	t       *testing.T
	sys     *actor.ActorSystem
	pid     *actor.PID
	stats   *s5.Stats
	decided chan *event.PolicyDecided
	raised  chan *event.AlertRaised
}

func startPolicy(t *testing.T, env s5.Env) *harness {
	t.Helper()
	sys := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(10 * time.Millisecond))
	h := &harness{t: t, sys: sys, decided: make(chan *event.PolicyDecided, 256), raised: make(chan *event.AlertRaised, 256)}
	if env.Stats == nil {
		env.Stats = &s5.Stats{}
	}
	h.stats = env.Stats
	env.Events = sys.EventStream
	if env.Identity.Node == "" {
		env.Identity.Node = "n1"
	}
	if env.Policy.LogMin == 0 {
		env.Policy = s5.Policy{LogMin: algedonic.Emergency + 1, PublishMin: algedonic.Emergency + 1}
	}
	// Subscribed on the stream itself (run on the publisher's goroutine), so
	// that what the actor published before a Ping's reply is in the channels
	// when the reply comes.
	sub := sys.EventStream.Subscribe(func(ev any) {
		switch e := ev.(type) {
		case *event.PolicyDecided:
			h.decided <- e
		case *event.AlertRaised:
			h.raised <- e
		}
	})
	h.pid = sys.Root.Spawn(s5.PolicyProps(env))
	t.Cleanup(func() {
		_ = sys.Root.StopFuture(h.pid).Wait()
		sys.EventStream.Unsubscribe(sub)
	})
	return h
}

func (h *harness) raise(sev algedonic.Severity, source, reason string) {
	h.sys.Root.Send(h.pid, &algedonic.Alert{Severity: sev, Source: source, Reason: reason, Node: "n1", Time: time.Now()})
}

// next waits for the next decision.
func (h *harness) next() *event.PolicyDecided {
	h.t.Helper()
	select {
	case d := <-h.decided:
		return d
	case <-time.After(wait):
		h.t.Fatal("no policy.decided event")
		return nil
	}
}

// sync returns once the actor has handled everything sent before.
func (h *harness) sync() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := ask.Ask[*s5.Pong](ctx, h.sys.Root, h.pid, &s5.Ping{}); err != nil {
		h.t.Fatal(err)
	}
}

// noMoreDecisions checks that nothing else was decided, once the actor has
// handled everything sent before.
func (h *harness) noMoreDecisions() {
	h.t.Helper()
	h.sync()
	select {
	case d := <-h.decided:
		h.t.Fatalf("unexpected decision %+v", d)
	default:
	}
}

func want(t *testing.T, d *event.PolicyDecided, rule, action, target, outcome string) {
	t.Helper()
	if d.Rule != rule || d.Action != action || d.Target != target || d.Outcome != outcome {
		t.Fatalf("decision %s/%s/%s/%s (detail %q, err %q), want %s/%s/%s/%s",
			d.Rule, d.Action, d.Target, d.Outcome, d.Detail, d.Err, rule, action, target, outcome)
	}
}

func rules(match string, rs ...config.PolicyRule) config.Policy {
	return config.Policy{Match: match, Rules: rs}
}

type breakerMap map[string]*breaker.Breaker

func (m breakerMap) Open(name string) error {
	b, ok := m[name]
	if !ok {
		return fmt.Errorf("breaker %q: %w", name, errNoSuch)
	}
	b.Open()
	return nil
}

var errNoSuch = errors.New("no such thing")

func TestOpenBreakerAction(t *testing.T) {
	api := breaker.New("api", breaker.Settings{})
	h := startPolicy(t, s5.Env{
		Rules: rules("", config.PolicyRule{Name: "trip-api", MinSeverity: algedonic.Critical, SourcePrefix: "s1/pool/api",
			Actions: []config.PolicyAction{{OpenBreaker: "api"}, {OpenBreaker: "nope"}}}),
		Hooks: s5.Hooks{Breakers: breakerMap{"api": api}},
	})
	h.raise(algedonic.Warning, "s1/pool/api", "slow") // below min_severity
	d := h.next()
	want(t, d, "", "", "", s5.OutcomeNoMatch)
	if d.Reason != "no rule matched" || d.Alert.Severity != "warning" || d.Alert.Source != "s1/pool/api" || d.Alert.Reason != "slow" {
		t.Fatalf("no-match decision %+v", d)
	}
	if api.State() != breaker.Closed {
		t.Fatalf("breaker %s after a warning", api.State())
	}
	h.raise(algedonic.Critical, "s1/pool/api", "down")
	d = h.next()
	want(t, d, "trip-api", s5.ActionOpenBreaker, "api", s5.OutcomeDone)
	if d.Reason != `rule trip-api: severity critical >= critical, source "s1/pool/api" has prefix "s1/pool/api"` || d.Err != "" {
		t.Fatalf("decision %+v", d)
	}
	if api.State() != breaker.Open {
		t.Fatalf("breaker %s, want open", api.State())
	}
	d = h.next()
	want(t, d, "trip-api", s5.ActionOpenBreaker, "nope", s5.OutcomeFailed)
	if d.Err != `breaker "nope": no such thing` {
		t.Fatalf("err %q", d.Err)
	}
	h.noMoreDecisions()
}

// Without hooks an action fails with ErrNoHook; SetHooks binds them at run
// time. SetHooks is an ordinary message: an alert sent after it may overtake
// it, so the node waits for a Ping's reply after sending it.
func TestSetHooks(t *testing.T) {
	api := breaker.New("api", breaker.Settings{})
	h := startPolicy(t, s5.Env{
		Rules: rules("", config.PolicyRule{Name: "r", Actions: []config.PolicyAction{{OpenBreaker: "api"}}}),
	})
	h.raise(algedonic.Info, "x", "before")
	d := h.next()
	want(t, d, "r", s5.ActionOpenBreaker, "api", s5.OutcomeFailed)
	if !strings.Contains(d.Err, s5.ErrNoHook.Error()) {
		t.Fatalf("err %q", d.Err)
	}
	h.sys.Root.Send(h.pid, &s5.SetHooks{Hooks: s5.Hooks{Breakers: breakerMap{"api": api}}})
	h.sync() // an alert would overtake SetHooks in the priority mailbox
	h.raise(algedonic.Info, "x", "after")
	want(t, h.next(), "r", s5.ActionOpenBreaker, "api", s5.OutcomeDone)
	if api.State() != breaker.Open {
		t.Fatalf("breaker %s", api.State())
	}
}

func TestLogAction(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	h := startPolicy(t, s5.Env{
		Logger: zap.New(core),
		Rules: rules(config.MatchAll,
			config.PolicyRule{Name: "loud", Severity: algedonic.Warning, Actions: []config.PolicyAction{{Log: "error"}}},
			config.PolicyRule{Name: "quiet", Actions: []config.PolicyAction{{Log: "debug"}}}),
	})
	h.raise(algedonic.Warning, "s3", "hot")
	want(t, h.next(), "loud", s5.ActionLog, "error", s5.OutcomeDone)
	want(t, h.next(), "quiet", s5.ActionLog, "debug", s5.OutcomeDone)
	h.noMoreDecisions()
	entries := logs.FilterMessage("s5/policy: alert matched a rule").AllUntimed()
	if len(entries) != 2 {
		t.Fatalf("%d log entries, want 2", len(entries))
	}
	for i, w := range []struct {
		lvl  zapcore.Level
		rule string
	}{{zapcore.ErrorLevel, "loud"}, {zapcore.DebugLevel, "quiet"}} {
		e := entries[i]
		f := e.ContextMap()
		if e.Level != w.lvl || f["rule"] != w.rule || f["source"] != "s3" || f["reason"] != "hot" || f["severity"] != "warning" {
			t.Errorf("entry %d: %v %v", i, e.Level, f)
		}
	}
}

type publisher struct {
	mu  sync.Mutex
	got []string
}

func (p *publisher) Publish(a *algedonic.Alert) {
	p.mu.Lock()
	p.got = append(p.got, a.Node+":"+a.Reason)
	p.mu.Unlock()
}

func TestPublishAction(t *testing.T) {
	pub := &publisher{}
	h := startPolicy(t, s5.Env{
		Policy: s5.Policy{LogMin: algedonic.Emergency + 1, PublishMin: algedonic.Critical},
		Rules:  rules("", config.PolicyRule{Name: "pub", Actions: []config.PolicyAction{{Publish: true}}}),
		Hooks:  s5.Hooks{Publisher: pub},
	})
	// Below publish_min: the rule publishes it, locally and to the cluster.
	h.raise(algedonic.Info, "s4", "local")
	d := h.next()
	want(t, d, "pub", s5.ActionPublish, "", s5.OutcomeDone)
	if d.Detail != "event stream and cluster" {
		t.Fatalf("detail %q", d.Detail)
	}
	// An alert of another node is published on this node's stream only.
	h.sys.Root.Send(h.pid, &algedonic.Alert{Severity: algedonic.Info, Source: "s4", Reason: "remote", Node: "n2"})
	d = h.next()
	want(t, d, "pub", s5.ActionPublish, "", s5.OutcomeDone)
	if d.Detail != "event stream" {
		t.Fatalf("detail %q", d.Detail)
	}
	// At publish_min the baseline published it already: once only.
	h.raise(algedonic.Critical, "s4", "baseline")
	d = h.next()
	want(t, d, "pub", s5.ActionPublish, "", s5.OutcomeSkipped)
	h.noMoreDecisions()
	var raised []string
	for len(h.raised) > 0 {
		e := <-h.raised
		raised = append(raised, e.Node+":"+e.Reason)
	}
	if got := strings.Join(raised, ","); got != "n1:local,n2:remote,n1:baseline" {
		t.Fatalf("alert.raised events %s", got)
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if got := strings.Join(pub.got, ","); got != "n1:local" {
		t.Fatalf("published to the cluster: %s", got)
	}
}

type fakePools struct {
	mu    sync.Mutex
	sizes map[string]int
	base  map[string]int
}

func (p *fakePools) Shed(_ context.Context, name string, t s5.ShedTarget) (s5.ShedResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur, ok := p.sizes[name]
	if !ok {
		return s5.ShedResult{}, fmt.Errorf("pool %q: %w", name, errNoSuch)
	}
	to := t.Size(p.base[name])
	if cur <= to {
		return s5.ShedResult{From: cur, To: cur}, nil
	}
	p.sizes[name] = to
	return s5.ShedResult{From: cur, To: to}, nil
}

func TestShedPoolAction(t *testing.T) {
	pools := &fakePools{sizes: map[string]int{"api": 10}, base: map[string]int{"api": 10}}
	h := startPolicy(t, s5.Env{
		Rules: rules("", config.PolicyRule{Name: "shed", Actions: []config.PolicyAction{
			{ShedPool: "api", Fraction: 0.3, MinSize: 2}, {ShedPool: "gone"}}}),
		Hooks: s5.Hooks{Pools: pools},
	})
	h.raise(algedonic.Critical, "s1/pool/api", "overloaded")
	d := h.next()
	want(t, d, "shed", s5.ActionShedPool, "api", s5.OutcomeDone)
	if d.Detail != "size 10 -> 3" {
		t.Fatalf("detail %q", d.Detail)
	}
	d = h.next()
	want(t, d, "shed", s5.ActionShedPool, "gone", s5.OutcomeFailed)
	// Again: already shed, nothing more.
	h.raise(algedonic.Critical, "s1/pool/api", "overloaded")
	d = h.next()
	want(t, d, "shed", s5.ActionShedPool, "api", s5.OutcomeSkipped)
	if d.Detail != "size 3 is at or below the target" {
		t.Fatalf("detail %q", d.Detail)
	}
	want(t, h.next(), "shed", s5.ActionShedPool, "gone", s5.OutcomeFailed)
	pools.mu.Lock()
	size := pools.sizes["api"]
	pools.mu.Unlock()
	if size != 3 {
		t.Fatalf("size %d, want 3", size)
	}
	if st := h.stats.Sheds(); st != (s5.DispatchStats{Queued: 4, Done: 2, Failed: 2}) {
		t.Fatalf("shed stats %+v", st)
	}
}

// hookServer is a webhook receiver on 127.0.0.1. With hang set, each
// request is held until release is closed or its client goes away.
type hookServer struct {
	*httptest.Server
	got     chan received
	release chan struct{}
	once    sync.Once
}

// releaseAll lets every held request, and every later one, be answered.
func (s *hookServer) releaseAll() { s.once.Do(func() { close(s.release) }) }

type received struct {
	method, contentType, rule string
	alert                     algedonic.Alert
	body                      string
}

func newHookServer(t *testing.T, status int, hang bool) *hookServer {
	t.Helper()
	s := &hookServer{got: make(chan received, 64), release: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec := received{method: r.Method, contentType: r.Header.Get("Content-Type"), rule: r.Header.Get(s5.WebhookRuleHeader), body: string(b)}
		_ = json.Unmarshal(b, &rec.alert)
		s.got <- rec
		if hang {
			select {
			case <-s.release:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(func() {
		s.releaseAll()
		s.Close()
	})
	return s
}

func webhookRule(url string, timeout time.Duration) config.PolicyRule {
	return config.PolicyRule{Name: "notify", MinSeverity: algedonic.Critical,
		Actions: []config.PolicyAction{{Webhook: url, Timeout: config.Duration(timeout)}}}
}

func TestWebhookPostsTheAlertOnce(t *testing.T) {
	srv := newHookServer(t, http.StatusNoContent, false)
	h := startPolicy(t, s5.Env{Rules: rules("", webhookRule(srv.URL+"/hook", time.Second))})
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	h.sys.Root.Send(h.pid, &algedonic.Alert{Severity: algedonic.Critical, Source: "s1/pool/api", Reason: "down", Node: "n1", Time: at})
	d := h.next()
	want(t, d, "notify", s5.ActionWebhook, srv.URL+"/hook", s5.OutcomeDone)
	if d.Detail != "HTTP 204" || d.Err != "" {
		t.Fatalf("decision %+v", d)
	}
	r := <-srv.got
	wantAlert := algedonic.Alert{Severity: algedonic.Critical, Source: "s1/pool/api", Reason: "down", Node: "n1", Time: at}
	if r.method != http.MethodPost || r.contentType != "application/json" || r.rule != "notify" || r.alert != wantAlert {
		t.Fatalf("received %+v", r)
	}
	if r.body != `{"severity":"critical","source":"s1/pool/api","reason":"down","node":"n1","time":"2026-12-01T08:00:00Z"}` {
		t.Fatalf("body %s", r.body)
	}
	h.noMoreDecisions()
	if len(srv.got) != 0 {
		t.Fatalf("%d more requests", len(srv.got))
	}
	if st := h.stats.Webhooks(); st != (s5.DispatchStats{Queued: 1, Done: 1}) {
		t.Fatalf("webhook stats %+v", st)
	}
}

func TestWebhookErrorStatusFails(t *testing.T) {
	srv := newHookServer(t, http.StatusInternalServerError, false)
	h := startPolicy(t, s5.Env{Rules: rules("", webhookRule(srv.URL, time.Second))})
	h.raise(algedonic.Critical, "s1", "x")
	d := h.next()
	want(t, d, "notify", s5.ActionWebhook, srv.URL, s5.OutcomeFailed)
	if d.Detail != "HTTP 500" || !strings.Contains(d.Err, s5.ErrWebhookStatus.Error()) {
		t.Fatalf("decision %+v", d)
	}
	if st := h.stats.Webhooks(); st != (s5.DispatchStats{Queued: 1, Failed: 1}) {
		t.Fatalf("webhook stats %+v", st)
	}
}

// A webhook server that never answers costs its call's timeout on a worker,
// and nothing on S5: later alerts are decided at once.
func TestHungWebhookDoesNotBlockS5(t *testing.T) {
	srv := newHookServer(t, http.StatusOK, true)
	breakers := breakerMap{"api": breaker.New("api", breaker.Settings{})}
	h := startPolicy(t, s5.Env{
		Rules: rules("",
			webhookRule(srv.URL, time.Hour),
			config.PolicyRule{Name: "trip", Actions: []config.PolicyAction{{OpenBreaker: "api"}}}),
		Hooks: s5.Hooks{Breakers: breakers},
	})
	h.raise(algedonic.Critical, "s1", "hangs")
	select {
	case <-srv.got:
	case <-time.After(wait):
		t.Fatal("webhook not called")
	}
	for i := range 5 {
		h.raise(algedonic.Warning, "s1", fmt.Sprint("later ", i))
		d := h.next()
		want(t, d, "trip", s5.ActionOpenBreaker, "api", s5.OutcomeDone)
		if d.Alert.Reason != fmt.Sprint("later ", i) {
			t.Fatalf("decided %q", d.Alert.Reason)
		}
	}
	if got := h.stats.Count(algedonic.Warning); got != 5 {
		t.Fatalf("warnings counted %d", got)
	}
	// The hung call is still in flight: no decision for it yet.
	if st := h.stats.Webhooks(); st != (s5.DispatchStats{Queued: 1}) {
		t.Fatalf("webhook stats %+v", st)
	}
	srv.releaseAll()
	d := h.next()
	want(t, d, "notify", s5.ActionWebhook, srv.URL, s5.OutcomeDone)
	if d.Alert.Reason != "hangs" {
		t.Fatalf("decided %q", d.Alert.Reason)
	}
}

// The call's timeout ends a hung call.
func TestWebhookTimeout(t *testing.T) {
	srv := newHookServer(t, http.StatusOK, true)
	h := startPolicy(t, s5.Env{Rules: rules("", webhookRule(srv.URL, 50*time.Millisecond))})
	h.raise(algedonic.Critical, "s1", "x")
	d := h.next()
	want(t, d, "notify", s5.ActionWebhook, srv.URL, s5.OutcomeFailed)
	if !strings.Contains(d.Err, context.DeadlineExceeded.Error()) {
		t.Fatalf("err %q", d.Err)
	}
	if st := h.stats.Webhooks(); st != (s5.DispatchStats{Queued: 1, Failed: 1}) {
		t.Fatalf("webhook stats %+v", st)
	}
}

// With one worker held by a hung server and a queue of 2, of 4 more calls
// 2 wait and 2 are dropped, each drop counted and decided as such.
func TestWebhookQueueBound(t *testing.T) {
	srv := newHookServer(t, http.StatusOK, true)
	p := rules("", webhookRule(srv.URL, time.Hour))
	p.Webhooks = config.Webhooks{Workers: 1, Queue: 2}
	h := startPolicy(t, s5.Env{Rules: p})
	h.raise(algedonic.Critical, "s1", "first")
	select {
	case <-srv.got:
	case <-time.After(wait):
		t.Fatal("webhook not called")
	}
	for i := range 4 {
		h.raise(algedonic.Critical, "s1", fmt.Sprint("more ", i))
	}
	for _, reason := range []string{"more 2", "more 3"} {
		d := h.next()
		want(t, d, "notify", s5.ActionWebhook, srv.URL, s5.OutcomeDropped)
		if d.Alert.Reason != reason || d.Err != s5.ErrQueueFull.Error() {
			t.Fatalf("decision %+v, want a drop of %q", d, reason)
		}
	}
	h.noMoreDecisions()
	if st := h.stats.Webhooks(); st != (s5.DispatchStats{Queued: 3, Dropped: 2}) {
		t.Fatalf("webhook stats %+v", st)
	}
	srv.releaseAll()
	got := map[string]bool{}
	for range 3 {
		d := h.next()
		want(t, d, "notify", s5.ActionWebhook, srv.URL, s5.OutcomeDone)
		got[d.Alert.Reason] = true
	}
	if !got["first"] || !got["more 0"] || !got["more 1"] {
		t.Fatalf("delivered %v", got)
	}
	if st := h.stats.Webhooks(); st != (s5.DispatchStats{Queued: 3, Done: 3, Dropped: 2}) {
		t.Fatalf("webhook stats %+v", st)
	}
	if n := 1 + len(srv.got); n != 3 {
		t.Fatalf("server received %d calls, want 3", n)
	}
}

// Stopping the actor ends a hung call and its worker: goleak (TestMain)
// checks that nothing is left.
func TestStopEndsHungWebhook(t *testing.T) {
	srv := newHookServer(t, http.StatusOK, true)
	h := startPolicy(t, s5.Env{Rules: rules("", webhookRule(srv.URL, time.Hour))})
	h.raise(algedonic.Critical, "s1", "x")
	select {
	case <-srv.got:
	case <-time.After(wait):
		t.Fatal("webhook not called")
	}
	done := make(chan error, 1)
	go func() { done <- h.sys.Root.StopFuture(h.pid).Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("stop hung on the webhook")
	}
	d := h.next()
	want(t, d, "notify", s5.ActionWebhook, srv.URL, s5.OutcomeFailed)
	if !strings.Contains(d.Err, context.Canceled.Error()) {
		t.Fatalf("err %q", d.Err)
	}
}

type panicky struct{}

func (panicky) Open(string) error { panic("breaker bug") }
func (panicky) Shed(context.Context, string, s5.ShedTarget) (s5.ShedResult, error) {
	panic("pool bug")
}

// A hook that panics fails its action, on the actor or on a worker; the
// next actions and alerts are handled as usual.
func TestPanickingHookFailsItsActionOnly(t *testing.T) {
	h := startPolicy(t, s5.Env{
		Rules: rules("", config.PolicyRule{Name: "r", Actions: []config.PolicyAction{
			{OpenBreaker: "api"}, {ShedPool: "api"}}}),
		Hooks: s5.Hooks{Breakers: panicky{}, Pools: panicky{}},
	})
	for range 2 {
		h.raise(algedonic.Critical, "s1", "x")
		d := h.next()
		want(t, d, "r", s5.ActionOpenBreaker, "api", s5.OutcomeFailed)
		if d.Err != "s5: action panicked: breaker bug" {
			t.Fatalf("err %q", d.Err)
		}
		d = h.next()
		want(t, d, "r", s5.ActionShedPool, "api", s5.OutcomeFailed)
		if d.Err != "s5: action panicked: pool bug" {
			t.Fatalf("err %q", d.Err)
		}
	}
	if got := h.stats.Count(algedonic.Critical); got != 2 {
		t.Fatalf("counted %d", got)
	}
	if st := h.stats.Sheds(); st != (s5.DispatchStats{Queued: 2, Failed: 2}) {
		t.Fatalf("shed stats %+v", st)
	}
}
