package config

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// Cluster providers.
const (
	ClusterProviderMemberlist = "memberlist"
	ClusterProviderEtcd       = "etcd"
)

// Cluster makes the node a member of a cluster (package cluster). The node
// joins one when any key of this section is set (Enabled).
type Cluster struct {
	// Provider finds the members: "memberlist" (default; SWIM gossip,
	// nothing to install) or "etcd" (registrations under a lease; needs
	// etcd.endpoints).
	Provider string `yaml:"provider,omitempty"`
	// Host is the one IP address remote messages and gossip bind and
	// advertise. Default "127.0.0.1"; never all interfaces unless written.
	Host string `yaml:"host,omitempty"`
	// Port is the remote (actor messages, gRPC) port. Default 0: a free
	// one, which others can still reach (it is gossiped).
	Port int `yaml:"port,omitempty"`
	// GossipPort is memberlist's UDP and TCP port, the one seeds name.
	// Default 0: a free one (only for a member no one lists as a seed).
	GossipPort int `yaml:"gossip_port,omitempty"`
	// Seeds are other members' gossip addresses, host:port. A member that
	// sees no other keeps trying them, so members start in any order.
	Seeds []string `yaml:"seeds,omitempty"`
	// GossipKeyFile holds the shared gossip key: 16, 24 or 32 raw bytes
	// (AES-128/192/256), or that many bytes base64-encoded. With it gossip
	// is encrypted and authenticated. Default: plain gossip.
	GossipKeyFile string `yaml:"gossip_key_file,omitempty"`
	// Timings tune failure detection; see ClusterTimings.
	Timings ClusterTimings `yaml:"timings,omitempty"`
	// TLS, with ca_file, cert_file and key_file, makes remote traffic
	// mutually authenticated. server_name is not used: each member's
	// certificate must name the host it advertises.
	TLS TLS `yaml:"tls,omitempty"`
	// Etcd is the etcd provider's settings.
	Etcd ClusterEtcd `yaml:"etcd,omitempty"`
}

// ClusterTimings tune memberlist's failure detector. The defaults (those of
// cluster.DefaultTimings) notice a kill -9 in about one second on
// loopback, at the price of false positives for a member that stalls for
// about half a second; on a real network raise them.
type ClusterTimings struct {
	ProbeInterval    Duration `yaml:"probe_interval,omitempty"`     // default 200ms
	ProbeTimeout     Duration `yaml:"probe_timeout,omitempty"`      // default 100ms
	SuspicionMult    int      `yaml:"suspicion_mult,omitempty"`     // default 2
	IndirectChecks   int      `yaml:"indirect_checks,omitempty"`    // default 2
	GossipInterval   Duration `yaml:"gossip_interval,omitempty"`    // default 50ms
	PushPullInterval Duration `yaml:"push_pull_interval,omitempty"` // default 5s
	RejoinInterval   Duration `yaml:"rejoin_interval,omitempty"`    // default 1s
	LeaveTimeout     Duration `yaml:"leave_timeout,omitempty"`      // default 500ms
}

// ClusterEtcd configures the etcd provider.
type ClusterEtcd struct {
	// Endpoints are etcd client URLs.
	Endpoints []string `yaml:"endpoints,omitempty"`
	// LeaseTTL is how long a killed member stays listed. Default 3s; at
	// least 1s.
	LeaseTTL Duration `yaml:"lease_ttl,omitempty"`
}

// Enabled reports whether the section asks for a cluster: any key set.
func (c Cluster) Enabled() bool {
	return c.Provider != "" || c.Host != "" || c.Port != 0 || c.GossipPort != 0 || len(c.Seeds) > 0 ||
		c.GossipKeyFile != "" || c.Timings != (ClusterTimings{}) || c.TLS != (TLS{}) || len(c.Etcd.Endpoints) > 0 || c.Etcd.LeaseTTL != 0
}

func (c Cluster) clone() Cluster {
	c.Seeds = slices.Clone(c.Seeds)
	c.Etcd.Endpoints = slices.Clone(c.Etcd.Endpoints)
	return c
}

func (v *validator) cluster(key string, c Cluster) {
	if !c.Enabled() {
		return
	}
	if c.Provider != "" {
		v.oneOf(key+".provider", c.Provider, ClusterProviderMemberlist, ClusterProviderEtcd)
	}
	if c.Host != "" && net.ParseIP(c.Host) == nil {
		v.problem(key+".host", "want an IP address, got %s", quote(c.Host))
	}
	for _, p := range []struct {
		k string
		n int
	}{{"port", c.Port}, {"gossip_port", c.GossipPort}} {
		if p.n < 0 || p.n > 65535 {
			v.problem(key+"."+p.k, "must be in 0..65535, got %d", p.n)
		}
	}
	if c.Port != 0 && c.Port == c.GossipPort {
		v.problem(key+".gossip_port", "must differ from port %d", c.Port)
	}
	for i, s := range c.Seeds {
		if err := checkHostPort(s, false, 1); err != nil {
			v.problem(fmt.Sprintf("%s.seeds[%d]", key, i), "%v", err)
		}
	}
	t := c.Timings
	tk := key + ".timings"
	for _, d := range []struct {
		k string
		d Duration
	}{{"probe_interval", t.ProbeInterval}, {"probe_timeout", t.ProbeTimeout}, {"gossip_interval", t.GossipInterval},
		{"push_pull_interval", t.PushPullInterval}, {"rejoin_interval", t.RejoinInterval}, {"leave_timeout", t.LeaveTimeout}} {
		v.nonNegative(tk+"."+d.k, d.d)
	}
	interval, timeout := t.ProbeInterval, t.ProbeTimeout
	if interval == 0 {
		interval = Duration(200e6)
	}
	if timeout == 0 {
		timeout = Duration(100e6)
	}
	if timeout >= interval && timeout > 0 {
		v.problem(tk+".probe_timeout", "%s must be below probe_interval %s", timeout, interval)
	}
	v.atLeast1(tk+".suspicion_mult", t.SuspicionMult)
	if t.IndirectChecks < 0 {
		v.problem(tk+".indirect_checks", "must not be negative, got %d", t.IndirectChecks)
	}
	v.tls(key+".tls", c.TLS)
	if c.TLS != (TLS{}) && (c.TLS.CAFile == "" || c.TLS.CertFile == "") {
		v.problem(key+".tls", "mutual TLS needs ca_file, cert_file and key_file")
	}
	if c.Provider == ClusterProviderEtcd && len(c.Etcd.Endpoints) == 0 {
		v.problem(key+".etcd.endpoints", "must not be empty with provider etcd")
	}
	if c.Etcd.LeaseTTL != 0 && c.Etcd.LeaseTTL < Duration(1e9) {
		v.problem(key+".etcd.lease_ttl", "must be at least 1s, got %s", c.Etcd.LeaseTTL)
	}
	for i, e := range c.Etcd.Endpoints {
		if strings.TrimSpace(e) == "" {
			v.problem(fmt.Sprintf("%s.etcd.endpoints[%d]", key, i), "must not be empty")
		}
	}
}
