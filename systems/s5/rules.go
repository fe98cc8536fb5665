package s5

import (
	"fmt"
	"math"
	"path"
	"strings"
	"time"

	"github.com/viable-systems/vsm-connections/algedonic"
	"github.com/viable-systems/vsm-connections/config"
)

// Defaults of the policy that config.Policy leaves at zero.
const (
	DefaultWebhookWorkers = 2
	DefaultWebhookQueue   = 64
	DefaultWebhookTimeout = 5 * time.Second
	DefaultShedFraction   = 0.5
	DefaultShedMinSize    = 1
	// DefaultShedTimeout bounds one shed (a resize through the pool actor).
	DefaultShedTimeout = 2 * time.Second
	// shedQueue bounds the sheds waiting for the shed worker.
	shedQueue = 16
)

// Action kinds, as in event.PolicyDecided.Action.
const (
	ActionLog         = "log"
	ActionPublish     = "publish"
	ActionOpenBreaker = "open_breaker"
	ActionShedPool    = "shed_pool"
	ActionWebhook     = "webhook"
)

// Outcomes, as in event.PolicyDecided.Outcome.
const (
	OutcomeDone    = "done"
	OutcomeSkipped = "skipped"
	OutcomeFailed  = "failed"
	OutcomeDropped = "dropped"
	OutcomeNoMatch = "no_match"
)

// ruleSet is a config.Policy with its defaults applied, ready to match.
type ruleSet struct {
	all      bool
	rules    []rule
	webhooks config.Webhooks
}

type rule struct {
	name    string
	sev     algedonic.Severity
	exact   bool // sev matches exactly, not at least
	src     string
	srcKind byte // 0 any, '=' exact, 'p' prefix, 'g' glob
	actions []config.PolicyAction
}

// compileRules applies the policy's defaults. The config has been validated;
// a rule that is still unusable (an invalid glob in a Config built in code
// and never validated) is returned as an error and left out.
func compileRules(p config.Policy) (ruleSet, []error) {
	rs := ruleSet{all: p.Match == config.MatchAll, webhooks: p.Webhooks}
	if rs.webhooks.Workers <= 0 {
		rs.webhooks.Workers = DefaultWebhookWorkers
	}
	if rs.webhooks.Queue <= 0 {
		rs.webhooks.Queue = DefaultWebhookQueue
	}
	if rs.webhooks.Timeout <= 0 {
		rs.webhooks.Timeout = config.Duration(DefaultWebhookTimeout)
	}
	var errs []error
	for _, c := range p.Rules {
		r := rule{name: c.Name, sev: c.MinSeverity}
		if c.Severity != 0 {
			r.sev, r.exact = c.Severity, true
		}
		switch {
		case c.Source != "":
			r.src, r.srcKind = c.Source, '='
		case c.SourcePrefix != "":
			r.src, r.srcKind = c.SourcePrefix, 'p'
		case c.SourceGlob != "":
			if _, err := path.Match(c.SourceGlob, ""); err != nil {
				errs = append(errs, fmt.Errorf("s5: rule %q: source_glob %q: %w", c.Name, c.SourceGlob, err))
				continue
			}
			r.src, r.srcKind = c.SourceGlob, 'g'
		}
		for _, a := range c.Actions {
			if a.Kind() == "" {
				errs = append(errs, fmt.Errorf("s5: rule %q: an action sets none or several of log, publish, open_breaker, shed_pool, webhook", c.Name))
				continue
			}
			if a.ShedPool != "" {
				if a.Fraction <= 0 || a.Fraction > 1 {
					a.Fraction = DefaultShedFraction
				}
				if a.MinSize <= 0 {
					a.MinSize = DefaultShedMinSize
				}
			}
			if a.Webhook != "" && a.Timeout <= 0 {
				a.Timeout = rs.webhooks.Timeout
			}
			r.actions = append(r.actions, a)
		}
		rs.rules = append(rs.rules, r)
	}
	return rs, errs
}

// match returns the rules that match a, in order (only the first unless
// the set matches all), each with the reason it matched.
func (rs *ruleSet) match(a *algedonic.Alert) []matched {
	var out []matched
	for i := range rs.rules {
		r := &rs.rules[i]
		if why, ok := r.match(a); ok {
			out = append(out, matched{r, why})
			if !rs.all {
				break
			}
		}
	}
	return out
}

type matched struct {
	rule   *rule
	reason string
}

func (r *rule) match(a *algedonic.Alert) (string, bool) {
	var why []string
	switch {
	case r.sev == 0:
		why = append(why, "any severity")
	case r.exact && a.Severity == r.sev:
		why = append(why, "severity "+a.Severity.String())
	case !r.exact && a.Severity >= r.sev:
		why = append(why, "severity "+a.Severity.String()+" >= "+r.sev.String())
	default:
		return "", false
	}
	switch r.srcKind {
	case 0:
		why = append(why, "any source")
	case '=':
		if a.Source != r.src {
			return "", false
		}
		why = append(why, fmt.Sprintf("source %q", a.Source))
	case 'p':
		if !strings.HasPrefix(a.Source, r.src) {
			return "", false
		}
		why = append(why, fmt.Sprintf("source %q has prefix %q", a.Source, r.src))
	case 'g':
		if ok, _ := path.Match(r.src, a.Source); !ok {
			return "", false
		}
		why = append(why, fmt.Sprintf("source %q matches %q", a.Source, r.src))
	}
	return fmt.Sprintf("rule %s: %s", r.name, strings.Join(why, ", ")), true
}

// ShedTarget says how far shed_pool shrinks a pool.
type ShedTarget struct {
	// Fraction of the pool's configured size kept, in (0, 1].
	Fraction float64
	// MinSize is the least size left.
	MinSize int
}

// Size is the size a pool of configured size base is shed to:
// ceil(base × Fraction), and at least MinSize (and 1).
func (t ShedTarget) Size(base int) int {
	f := t.Fraction
	if f <= 0 || f > 1 {
		f = DefaultShedFraction
	}
	// The epsilon keeps 10 × 0.3 (3.0000000000000004 in floating point) at 3.
	n := int(math.Ceil(float64(base)*f - 1e-9))
	return max(n, t.MinSize, 1)
}

// ShedResult is what a shed did: the size before and after. From == To
// when the pool was already at or below the target (shedding never grows a
// pool).
type ShedResult struct {
	From, To int
}
