package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Control is System 3's policy (control:): what it does when System 4
// reports a pool's upstream unhealthy, and how often it audits System 1.
type Control struct {
	// AuditInterval is how often the S3* audit compares each S1 unit's
	// actor with its handle. Default 10s.
	AuditInterval Duration `yaml:"audit_interval,omitempty"`
	// HealthPolicies bind health checks to pools: when the check turns
	// unhealthy, S3 acts on the pool; when it recovers, S3 undoes it.
	HealthPolicies []HealthPolicy `yaml:"health_policies,omitempty"`
	// AutoscaleInterval is how often S3 reviews the autoscaled pools.
	// Default 10s.
	AutoscaleInterval Duration `yaml:"autoscale_interval,omitempty"`
	// Autoscale keeps pools' sizes within bounds from their checkout wait
	// and utilisation. Default: none.
	Autoscale []Autoscale `yaml:"autoscale,omitempty"`
}

// Autoscale is one pool's autoscaling policy (control.autoscale[]). At
// each review S3 grows the pool by half (at least 1, at most to Max) when
// callers waited (mean checkout wait at least TargetWait, or a checkout
// timed out, over the last interval; or callers wait now) or its
// utilisation (in use / size) is at least HighUtilisation; it shrinks it
// by a quarter (at least 1, at least to Min) when nobody waited and the
// utilisation is at most LowUtilisation.
type Autoscale struct {
	Pool string `yaml:"pool"`
	// Min and Max bound the size. Default Min 1, Max the pool's size.
	Min int `yaml:"min,omitempty"`
	Max int `yaml:"max,omitempty"`
	// TargetWait is the mean checkout wait that grows the pool. Default
	// 10ms.
	TargetWait Duration `yaml:"target_wait,omitempty"`
	// HighUtilisation and LowUtilisation are percentages. Defaults 80, 30.
	HighUtilisation float64 `yaml:"high_utilisation,omitempty"`
	LowUtilisation  float64 `yaml:"low_utilisation,omitempty"`
}

// S3 health policy actions (control.health_policies[].on_unhealthy).
const (
	// OnUnhealthyOpenBreaker opens the pool's circuit_breaker by hand
	// (and closes it on recovery).
	OnUnhealthyOpenBreaker = "open_breaker"
	// OnUnhealthyEjectEndpoint takes the check's endpoint out of the pool's
	// balancer (and puts it back on recovery).
	OnUnhealthyEjectEndpoint = "eject_endpoint"
	// OnUnhealthyNone only reports the transition as a control.action.
	OnUnhealthyNone = "none"
)

// DefaultAuditInterval is control.audit_interval when unset.
const DefaultAuditInterval = 10 * time.Second

// HealthPolicy is one binding of a health check to a pool.
type HealthPolicy struct {
	// Check names an entry of health_checks.
	Check string `yaml:"check"`
	// Pool names an entry of pools.
	Pool string `yaml:"pool"`
	// OnUnhealthy is open_breaker (default; the pool needs a
	// circuit_breaker), eject_endpoint or none.
	OnUnhealthy string `yaml:"on_unhealthy,omitempty"`
	// Endpoint is the host:port ejected by eject_endpoint: one of the
	// pool's endpoints. Default: the host:port of the check's target.
	Endpoint string `yaml:"endpoint,omitempty"`
}

func (c Control) withDefaults() Control {
	setDur(&c.AuditInterval, DefaultAuditInterval)
	if c.HealthPolicies != nil {
		ps := make([]HealthPolicy, len(c.HealthPolicies))
		for i, p := range c.HealthPolicies {
			setStr(&p.OnUnhealthy, OnUnhealthyOpenBreaker)
			ps[i] = p
		}
		c.HealthPolicies = ps
	}
	setDur(&c.AutoscaleInterval, DefaultAuditInterval)
	if c.Autoscale != nil {
		as := make([]Autoscale, len(c.Autoscale))
		for i, a := range c.Autoscale {
			setInt(&a.Min, 1)
			setDur(&a.TargetWait, 10*time.Millisecond)
			if a.HighUtilisation == 0 {
				a.HighUtilisation = 80
			}
			if a.LowUtilisation == 0 {
				a.LowUtilisation = 30
			}
			as[i] = a
		}
		c.Autoscale = as
	}
	return c
}

// HostPort is the host:port a check probes, for matching it with a pool's
// endpoints: the URL's host and port (80/443 by scheme when absent), or the
// address. It is "" for a redis check or an unparsable target.
func (h HealthCheck) HostPort() string {
	switch h.Type {
	case CheckRedis:
		return ""
	case CheckTCP, CheckGRPC:
		return h.Endpoint()
	}
	u, err := url.Parse(h.Endpoint())
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Port() != "" {
		return u.Host
	}
	port := 80
	if u.Scheme == "https" || u.Scheme == "wss" {
		port = 443
	}
	return net.JoinHostPort(u.Hostname(), strconv.Itoa(port))
}

// addrs are the pool's endpoints: Endpoints, else Host:Port.
func (p Pool) addrs() []string {
	if len(p.Endpoints) > 0 {
		return p.Endpoints
	}
	return []string{net.JoinHostPort(p.Host, strconv.Itoa(p.Port))}
}

func (v *validator) readinessChecks(key string, names []string, checks map[string]HealthCheck) {
	seen := map[string]bool{}
	for i, name := range names {
		k := fmt.Sprintf("%s[%d]", key, i)
		switch _, ok := checks[name]; {
		case seen[name]:
			v.problem(k, "health check %s is listed twice", quote(name))
		case !ok:
			v.problem(k, "no health check %s in health_checks", quote(name))
		}
		seen[name] = true
	}
}

// control checks control: against the defaulted config d.
func (v *validator) control(key string, d *Config) {
	v.nonNegative(key+".autoscale_interval", d.Control.AutoscaleInterval)
	scaled := map[string]bool{}
	for i, a := range d.Control.Autoscale {
		k := fmt.Sprintf("%s.autoscale[%d]", key, i)
		p, ok := d.Pools[a.Pool]
		switch {
		case !ok:
			v.problem(k+".pool", "no pool %s in pools", quote(a.Pool))
		case scaled[a.Pool]:
			v.problem(k+".pool", "pool %s is autoscaled twice", quote(a.Pool))
		}
		scaled[a.Pool] = true
		maxSize := a.Max
		if maxSize == 0 {
			maxSize = p.Size
		}
		if a.Min < 1 || (ok && a.Min > maxSize) {
			v.problem(k+".min", "want 1 <= min <= max (%d), got %d", maxSize, a.Min)
		}
		v.nonNegative(k+".target_wait", a.TargetWait)
		if a.LowUtilisation < 0 || a.HighUtilisation > 100 || a.LowUtilisation >= a.HighUtilisation {
			v.problem(k+".low_utilisation", "want 0 <= low_utilisation < high_utilisation <= 100, got %g and %g", a.LowUtilisation, a.HighUtilisation)
		}
	}
	type pair struct{ check, pool string }
	seen := map[pair]bool{}
	for i, p := range d.Control.HealthPolicies {
		k := fmt.Sprintf("%s.health_policies[%d]", key, i)
		hc, okCheck := d.HealthChecks[p.Check]
		if !okCheck {
			v.problem(k+".check", "no health check %s in health_checks", quote(p.Check))
		}
		pool, okPool := d.Pools[p.Pool]
		if !okPool {
			v.problem(k+".pool", "no pool %s in pools", quote(p.Pool))
		}
		if seen[pair{p.Check, p.Pool}] {
			v.problem(k, "check %s and pool %s are bound twice", quote(p.Check), quote(p.Pool))
		}
		seen[pair{p.Check, p.Pool}] = true
		if !v.oneOf(k+".on_unhealthy", p.OnUnhealthy, OnUnhealthyOpenBreaker, OnUnhealthyEjectEndpoint, OnUnhealthyNone) || !okPool {
			continue
		}
		if p.Endpoint != "" && p.OnUnhealthy != OnUnhealthyEjectEndpoint {
			v.problem(k+".endpoint", "only for on_unhealthy: eject_endpoint")
		}
		switch p.OnUnhealthy {
		case OnUnhealthyOpenBreaker:
			if pool.CircuitBreaker == "" {
				v.problem(k+".on_unhealthy", "open_breaker needs a circuit_breaker on pool %s", quote(p.Pool))
			}
		case OnUnhealthyEjectEndpoint:
			ep := p.Endpoint
			if ep == "" && okCheck {
				ep = hc.HostPort()
			}
			if !slices.Contains(pool.addrs(), ep) {
				v.problem(k+".endpoint", "endpoint %s is not one of pool %s's endpoints (%s)", quote(ep), quote(p.Pool), strings.Join(pool.addrs(), ", "))
			}
		}
	}
}
