package cluster

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"

	"github.com/viable-systems/vsm-connections/config"
)

// FromConfig turns a node's cluster: section into a Config for the member
// named name in the cluster named clusterName (config's node.name and
// node.cluster), reading the gossip key and TLS files. c should have
// passed config's Validate.
func FromConfig(c config.Cluster, name, clusterName string) (Config, error) {
	out := Config{
		Provider: c.Provider,
		Etcd:     Etcd{Endpoints: append([]string(nil), c.Etcd.Endpoints...), LeaseTTL: c.Etcd.LeaseTTL.D()},
		Name:     name, Cluster: clusterName, Host: c.Host, Port: c.Port, GossipPort: c.GossipPort,
		Seeds: append([]string(nil), c.Seeds...),
		Timings: Timings{
			ProbeInterval: c.Timings.ProbeInterval.D(), ProbeTimeout: c.Timings.ProbeTimeout.D(),
			SuspicionMult: c.Timings.SuspicionMult, IndirectChecks: c.Timings.IndirectChecks,
			GossipInterval: c.Timings.GossipInterval.D(), PushPullInterval: c.Timings.PushPullInterval.D(),
			RejoinInterval: c.Timings.RejoinInterval.D(), LeaveTimeout: c.Timings.LeaveTimeout.D(),
		},
	}
	if c.GossipKeyFile != "" {
		key, err := readKey(c.GossipKeyFile)
		if err != nil {
			return Config{}, err
		}
		out.GossipKey = key
	}
	if c.TLS.CAFile != "" || c.TLS.CertFile != "" || c.TLS.KeyFile != "" {
		var err error
		if out.TLS, out.ClientTLS, err = LoadTLS(c.TLS.CAFile, c.TLS.CertFile, c.TLS.KeyFile); err != nil {
			return Config{}, err
		}
	}
	return out, nil
}

// readKey reads a gossip key: 16, 24 or 32 raw bytes, or their base64 (as
// `openssl rand -base64 32` writes it); surrounding whitespace is dropped
// from the base64 form.
func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: gossip key: %w", ErrConfig, err)
	}
	if validKeyLen(len(b)) {
		return b, nil
	}
	if k, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b))); err == nil && validKeyLen(len(k)) {
		return k, nil
	}
	return nil, fmt.Errorf("%w: gossip key %s: want 16, 24 or 32 bytes, raw or base64", ErrConfig, path)
}

func validKeyLen(n int) bool { return n == 16 || n == 24 || n == 32 }
