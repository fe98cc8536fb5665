package config

import (
	"fmt"
	"math"
	"net/url"
	"path"

	"github.com/viable-systems/vsm-connections/algedonic"
)

// Policy is System 5's rule set (algedonic.policy): what S5 decides on an
// alert beyond the log_min/publish_min baseline. The zero value has no
// rules, and S5 then does only the baseline.
type Policy struct {
	// Match is "first" (the first rule that matches decides; the default)
	// or "all" (every matching rule acts, in file order).
	Match string `yaml:"match,omitempty"`
	// Rules are tried in file order.
	Rules []PolicyRule `yaml:"rules,omitempty"`
	// Webhooks bounds the webhook calls of every rule.
	Webhooks Webhooks `yaml:"webhooks,omitempty"`
}

// Match values of Policy.Match.
const (
	MatchFirst = "first"
	MatchAll   = "all"
)

// Webhooks is the bounded worker pool that makes webhook calls, off S5's
// mailbox.
type Webhooks struct {
	// Workers is how many calls may be in flight at once. Default 2.
	Workers int `yaml:"workers,omitempty"`
	// Queue bounds the calls waiting for a worker; a call that finds it full
	// is dropped and counted. Default 64.
	Queue int `yaml:"queue,omitempty"`
	// Timeout bounds each call, unless its action sets its own. Default 5s.
	Timeout Duration `yaml:"timeout,omitempty"`
}

// PolicyRule matches alerts on severity and source and lists what to do
// with them. A rule with no severity key matches every severity; one with
// no source key matches every source.
type PolicyRule struct {
	// Name identifies the rule in decision events and logs. Required,
	// unique.
	Name string `yaml:"name,omitempty"`
	// Severity matches exactly this severity.
	Severity algedonic.Severity `yaml:"severity,omitempty"`
	// MinSeverity matches this severity and above. At most one of
	// Severity and MinSeverity.
	MinSeverity algedonic.Severity `yaml:"min_severity,omitempty"`
	// Source matches exactly this source (the raising actor's stable name,
	// such as "s1/breaker/api").
	Source string `yaml:"source,omitempty"`
	// SourcePrefix matches sources that start with it ("s1/pool/").
	SourcePrefix string `yaml:"source_prefix,omitempty"`
	// SourceGlob matches sources by path.Match ("s1/*/api": '*' does not
	// cross a '/'). At most one of Source, SourcePrefix and SourceGlob.
	SourceGlob string `yaml:"source_glob,omitempty"`
	// Actions run in order. At least one.
	Actions []PolicyAction `yaml:"actions,omitempty"`
}

// PolicyAction is one thing a rule does. Exactly one of Log, Publish,
// OpenBreaker, ShedPool and Webhook is set; Fraction and MinSize go with
// ShedPool, Timeout with Webhook.
type PolicyAction struct {
	// Log writes the alert to the log at this level: debug, info, warn or
	// error.
	Log string `yaml:"log,omitempty"`
	// Publish publishes the alert (event.AlertRaised on the event stream,
	// and to the cluster's alert channels when Redis is configured) even
	// when it is below publish_min. Only true may be written.
	Publish bool `yaml:"publish,omitempty"`
	// OpenBreaker forces the named breaker open (a shared breaker opens
	// across the cluster). It stays open until closed or reset by hand.
	OpenBreaker string `yaml:"open_breaker,omitempty"`
	// ShedPool caps the named pool's size at Fraction of its configured
	// size, and never below MinSize. It never grows a pool, so a repeated
	// alert does not shed further.
	ShedPool string `yaml:"shed_pool,omitempty"`
	// Fraction of the configured size kept, in (0, 1]. Default 0.5.
	Fraction float64 `yaml:"fraction,omitempty"`
	// MinSize is the least size shedding leaves. Default 1.
	MinSize int `yaml:"min_size,omitempty"`
	// Webhook POSTs the alert as JSON to this http:// or https:// URL.
	Webhook string `yaml:"webhook,omitempty"`
	// Timeout bounds this webhook call. Default webhooks.timeout.
	Timeout Duration `yaml:"timeout,omitempty"`
}

// Kind names the action: log, publish, open_breaker, shed_pool or webhook;
// "" when none (or more than one) is set.
func (a PolicyAction) Kind() string {
	kinds := a.kinds()
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

func (a PolicyAction) kinds() []string {
	var ks []string
	if a.Log != "" {
		ks = append(ks, "log")
	}
	if a.Publish {
		ks = append(ks, "publish")
	}
	if a.OpenBreaker != "" {
		ks = append(ks, "open_breaker")
	}
	if a.ShedPool != "" {
		ks = append(ks, "shed_pool")
	}
	if a.Webhook != "" {
		ks = append(ks, "webhook")
	}
	return ks
}

// Log levels of PolicyAction.Log.
var policyLogLevels = []string{"debug", "info", "warn", "error"}

// policy validates algedonic.policy; p is as written (the policy has no
// defaults applied by WithDefaults: S5 applies them).
func (v *validator) policy(key string, p Policy) {
	if p.Match != "" {
		v.oneOf(key+".match", p.Match, MatchFirst, MatchAll)
	}
	v.atLeast1(key+".webhooks.workers", p.Webhooks.Workers)
	v.atLeast1(key+".webhooks.queue", p.Webhooks.Queue)
	v.nonNegative(key+".webhooks.timeout", p.Webhooks.Timeout)
	seen := map[string]int{}
	for i, r := range p.Rules {
		rk := fmt.Sprintf("%s.rules[%d]", key, i)
		if r.Name == "" {
			v.problem(rk+".name", "required")
		} else {
			v.name(rk+".name", r.Name)
			if first, dup := seen[r.Name]; dup {
				v.problem(rk+".name", "rule %s is also rules[%d]", quote(r.Name), first)
			} else {
				seen[r.Name] = i
			}
		}
		v.severity(rk+".severity", r.Severity)
		v.severity(rk+".min_severity", r.MinSeverity)
		if r.Severity != 0 && r.MinSeverity != 0 {
			v.problem(rk+".min_severity", "give severity (exact) or min_severity (at least), not both")
		}
		n := 0
		for _, s := range []string{r.Source, r.SourcePrefix, r.SourceGlob} {
			if s != "" {
				n++
			}
		}
		if n > 1 {
			v.problem(rk, "give at most one of source, source_prefix and source_glob")
		}
		if r.SourceGlob != "" {
			if _, err := path.Match(r.SourceGlob, ""); err != nil {
				v.problem(rk+".source_glob", "invalid pattern %s: %v", quote(r.SourceGlob), err)
			}
		}
		if len(r.Actions) == 0 {
			v.problem(rk+".actions", "a rule needs at least one action")
		}
		for j, a := range r.Actions {
			v.policyAction(fmt.Sprintf("%s.actions[%d]", rk, j), a)
		}
	}
}

func (v *validator) policyAction(key string, a PolicyAction) {
	kinds := a.kinds()
	switch {
	case len(kinds) == 0 && v.explicit(key+".publish"):
		v.problem(key+".publish", "only publish: true means anything; remove the action instead")
		return
	case len(kinds) == 0:
		v.problem(key, "want one of log, publish, open_breaker, shed_pool, webhook")
		return
	case len(kinds) > 1:
		v.problem(key, "one action per list entry; got %v", kinds)
		return
	}
	if a.Log != "" {
		v.oneOf(key+".log", a.Log, policyLogLevels...)
	}
	if a.OpenBreaker != "" {
		v.name(key+".open_breaker", a.OpenBreaker)
	}
	if a.ShedPool != "" {
		v.name(key+".shed_pool", a.ShedPool)
	} else {
		if a.Fraction != 0 || v.explicit(key+".fraction") {
			v.problem(key+".fraction", "goes with shed_pool only")
		}
		if a.MinSize != 0 || v.explicit(key+".min_size") {
			v.problem(key+".min_size", "goes with shed_pool only")
		}
	}
	if a.ShedPool != "" {
		if a.Fraction != 0 || v.explicit(key+".fraction") {
			if f := a.Fraction; !(f > 0 && f <= 1) || math.IsNaN(f) {
				v.problem(key+".fraction", "must be in (0, 1], got %v", f)
			}
		}
		v.atLeast1(key+".min_size", a.MinSize)
	}
	if a.Webhook != "" {
		u, err := url.Parse(a.Webhook)
		switch {
		case err != nil:
			v.problem(key+".webhook", "invalid URL %s: %v", quote(redactURL(a.Webhook)), urlErr(a.Webhook, err))
		case u.Scheme != "http" && u.Scheme != "https":
			v.problem(key+".webhook", "want an http:// or https:// URL, got %s", quote(redactURL(a.Webhook)))
		case u.Host == "":
			v.problem(key+".webhook", "URL %s has no host", quote(redactURL(a.Webhook)))
		}
		v.nonNegative(key+".timeout", a.Timeout)
	} else if a.Timeout != 0 || v.explicit(key+".timeout") {
		v.problem(key+".timeout", "goes with webhook only")
	}
}
