package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"
)

// Provider names.
const (
	// ProviderMemberlist is the default: SWIM gossip over UDP/TCP with
	// hashicorp/memberlist, needing nothing installed.
	ProviderMemberlist = "memberlist"
	// ProviderEtcd registers each member in etcd under a lease and
	// watches the others' registrations.
	ProviderEtcd = "etcd"
)

// Config is one member's cluster settings. The zero value of every field
// means its documented default (see WithDefaults).
type Config struct {
	// Name is this member's stable name, unique in the cluster: the name
	// PID resolves and events carry. Required.
	Name string
	// Provider finds the members: ProviderMemberlist (default) or
	// ProviderEtcd.
	Provider string
	// Etcd configures ProviderEtcd.
	Etcd Etcd
	// Cluster is the cluster's name; members of different clusters never
	// talk (memberlist's label and protoactor's cluster name). Default "vsm".
	Cluster string
	// Host is the one address both remote and gossip bind and advertise.
	// Default "127.0.0.1": never all interfaces unless written.
	Host string
	// Port is the remote (gRPC) port; 0 picks a free one.
	Port int
	// GossipPort is memberlist's UDP and TCP port; 0 picks a free one
	// (fine for a member others do not list as a seed).
	GossipPort int
	// Seeds are gossip addresses (host:port) of other members. A member
	// alone keeps trying them every RejoinInterval, so members may start in
	// any order.
	Seeds []string
	// GossipKey encrypts and authenticates gossip (AES-GCM); 16, 24 or 32
	// bytes, the same on every member. Empty: plain gossip.
	GossipKey []byte
	// Timings tune failure detection.
	Timings Timings
	// TLS, when set, makes remote traffic mutually authenticated: the
	// server requires a client certificate signed by the CA and the client
	// verifies the server's. Every member must use it.
	TLS *tls.Config
	// ClientTLS is the dial side of TLS (same CA and certificate); set by
	// LoadTLS together with TLS.
	ClientTLS *tls.Config
}

// Etcd configures the etcd provider. Each member puts its registration
// under <Prefix><cluster>/members/<instance id> with a lease of LeaseTTL
// and keeps it alive; a member killed is gone when its lease expires (at
// most LeaseTTL after its last keepalive), one that stops cleanly revokes
// it (gone at once). A member that loses etcd and gets it back (its lease
// expired meanwhile, or its key was deleted) registers again.
type Etcd struct {
	// Endpoints are etcd client URLs, e.g. http://127.0.0.1:2379. Required.
	Endpoints []string
	// LeaseTTL bounds how long a dead member stays listed. Default 3s
	// (etcd's minimum is about 1.5 s with its default timings).
	LeaseTTL time.Duration
	// DialTimeout bounds each connection attempt and Start's first check
	// that etcd answers. Default 2s.
	DialTimeout time.Duration
	// Prefix of the keys. Default "/vsm/".
	Prefix string
}

// Timings tune memberlist's failure detector. The defaults are tuned for
// about one second from kill -9 to member.left on loopback:
//
//	probe every ProbeInterval (200ms) one random member; no ack within
//	ProbeTimeout (100ms) -> indirect probes through IndirectChecks (2)
//	others and a TCP ping; still nothing at the end of the interval ->
//	suspect; not refuted within SuspicionMult (2) x ProbeInterval x
//	max(1, log10(members)) -> dead, gossiped every GossipInterval (50ms).
//
// Worst case for 3 members: 200 + 200 + 400 + gossip ≈ 0.85 s.
//
// The trade-off is false positives: a member that cannot answer for about
// ProbeTimeout + suspicion (≈ 0.5 s: a long GC pause, a starved CPU, a
// congested link) is declared dead, its actors are reported gone, and it
// rejoins (refuting with a new incarnation) as soon as it runs again: a
// left/joined flap. memberlist's LAN defaults (1 s / 500 ms / x4) detect
// in ~5 s and flap far less; raise these on busy or non-loopback networks.
type Timings struct {
	// ProbeInterval between failure probes. Default 200ms.
	ProbeInterval time.Duration
	// ProbeTimeout for a direct probe's ack. Default 100ms.
	ProbeTimeout time.Duration
	// SuspicionMult times ProbeInterval (scaled by log10 of the member
	// count) is how long a suspect may refute before it is dead. Default 2.
	SuspicionMult int
	// IndirectChecks is how many members probe a silent one for us.
	// Default 2.
	IndirectChecks int
	// GossipInterval between gossip rounds. Default 50ms.
	GossipInterval time.Duration
	// PushPullInterval between full state syncs. Default 5s.
	PushPullInterval time.Duration
	// RejoinInterval between join attempts while this member sees no other.
	// Default 1s.
	RejoinInterval time.Duration
	// LeaveTimeout bounds the wait for a clean leave to be gossiped.
	// Default 500ms.
	LeaveTimeout time.Duration
}

// DefaultTimings are the loopback-tuned defaults described on Timings.
var DefaultTimings = Timings{
	ProbeInterval:    200 * time.Millisecond,
	ProbeTimeout:     100 * time.Millisecond,
	SuspicionMult:    2,
	IndirectChecks:   2,
	GossipInterval:   50 * time.Millisecond,
	PushPullInterval: 5 * time.Second,
	RejoinInterval:   time.Second,
	LeaveTimeout:     500 * time.Millisecond,
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Cluster == "" {
		c.Cluster = "vsm"
	}
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.Provider == "" {
		c.Provider = ProviderMemberlist
	}
	setDur(&c.Etcd.LeaseTTL, 3*time.Second)
	setDur(&c.Etcd.DialTimeout, 2*time.Second)
	if c.Etcd.Prefix == "" {
		c.Etcd.Prefix = "/vsm/"
	}
	c.Seeds = slices.Clone(c.Seeds)
	c.Etcd.Endpoints = slices.Clone(c.Etcd.Endpoints)
	t, d := &c.Timings, DefaultTimings
	setDur(&t.ProbeInterval, d.ProbeInterval)
	setDur(&t.ProbeTimeout, d.ProbeTimeout)
	setDur(&t.GossipInterval, d.GossipInterval)
	setDur(&t.PushPullInterval, d.PushPullInterval)
	setDur(&t.RejoinInterval, d.RejoinInterval)
	setDur(&t.LeaveTimeout, d.LeaveTimeout)
	if t.SuspicionMult == 0 {
		t.SuspicionMult = d.SuspicionMult
	}
	if t.IndirectChecks == 0 {
		t.IndirectChecks = d.IndirectChecks
	}
	return c
}

func setDur(p *time.Duration, d time.Duration) {
	if *p == 0 {
		*p = d
	}
}

// validate checks a config that has its defaults.
func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if c.Name == "" {
		bad("name must not be empty")
	}
	switch c.Provider {
	case ProviderMemberlist:
	case ProviderEtcd:
		if len(c.Etcd.Endpoints) == 0 {
			bad("etcd endpoints must not be empty")
		}
		if c.Etcd.LeaseTTL < time.Second || c.Etcd.DialTimeout <= 0 {
			bad("etcd lease TTL must be at least 1s and dial timeout positive")
		}
	default:
		bad("provider %q: want %s or %s", c.Provider, ProviderMemberlist, ProviderEtcd)
	}
	if net.ParseIP(c.Host) == nil {
		// memberlist needs an IP to bind; a name would bind whatever it
		// resolves to, possibly more than meant.
		bad("host %q must be an IP address", c.Host)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"port", c.Port}, {"gossip_port", c.GossipPort}} {
		if p.v < 0 || p.v > 65535 {
			bad("%s %d out of range", p.name, p.v)
		}
	}
	if c.Port != 0 && c.Port == c.GossipPort {
		bad("port and gossip_port must differ, both %d", c.Port)
	}
	for _, s := range c.Seeds {
		if _, p, err := net.SplitHostPort(s); err != nil {
			bad("seed %q: %v", s, err)
		} else if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			bad("seed %q: bad port", s)
		}
	}
	switch len(c.GossipKey) {
	case 0, 16, 24, 32:
	default:
		bad("gossip key must be 16, 24 or 32 bytes, got %d", len(c.GossipKey))
	}
	t := c.Timings
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"probe_interval", t.ProbeInterval}, {"probe_timeout", t.ProbeTimeout}, {"gossip_interval", t.GossipInterval},
		{"push_pull_interval", t.PushPullInterval}, {"rejoin_interval", t.RejoinInterval}, {"leave_timeout", t.LeaveTimeout}} {
		if d.v < 0 {
			bad("timings.%s must not be negative, got %s", d.name, d.v)
		}
	}
	if t.ProbeTimeout >= t.ProbeInterval {
		bad("timings.probe_timeout %s must be below probe_interval %s", t.ProbeTimeout, t.ProbeInterval)
	}
	if t.SuspicionMult < 1 || t.IndirectChecks < 0 {
		bad("timings.suspicion_mult must be at least 1 and indirect_checks not negative")
	}
	if (c.TLS == nil) != (c.ClientTLS == nil) {
		bad("tls: server and client sides must be given together")
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
}
