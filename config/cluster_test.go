package config

import (
	"slices"
	"strings"
	"testing"
)

func TestClusterValidation(t *testing.T) {
	got := mustProblems(t, `node:
  name: n1
cluster:
  provider: consul
  host: localhost
  port: 7000
  gossip_port: 7000
  seeds: [127.0.0.1:7946, nohost]
  timings:
    probe_interval: 100ms
    probe_timeout: 200ms
    suspicion_mult: 0
    indirect_checks: -1
    rejoin_interval: -1s
  tls:
    cert_file: c.pem
`)
	want := []string{
		"vsm.yaml:4: cluster.provider: must be one of memberlist, etcd; got \"consul\"",
		"vsm.yaml:5: cluster.host: want an IP address, got \"localhost\"",
		"vsm.yaml:7: cluster.gossip_port: must differ from port 7000",
		"vsm.yaml:8: cluster.seeds[1]: want host:port, got \"nohost\"",
		"vsm.yaml:11: cluster.timings.probe_timeout: 200ms must be below probe_interval 100ms",
		"vsm.yaml:12: cluster.timings.suspicion_mult: must be at least 1, got 0",
		"vsm.yaml:13: cluster.timings.indirect_checks: must not be negative, got -1",
		"vsm.yaml:14: cluster.timings.rejoin_interval: invalid duration \"-1s\": must not be negative",
		// key_file is not written: the problem names its section's line.
		"vsm.yaml:15: cluster.tls.key_file: cert_file and key_file must be given together",
		"vsm.yaml:15: cluster.tls: mutual TLS needs ca_file, cert_file and key_file",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestClusterEnabled(t *testing.T) {
	c, err := Parse("c.yaml", []byte("node:\n  name: n\ncluster:\n  seeds: [127.0.0.1:7946]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Cluster.Enabled() || (Cluster{}).Enabled() {
		t.Errorf("Enabled: with seeds %v, empty %v; want true, false", c.Cluster.Enabled(), (Cluster{}).Enabled())
	}
	d := c.WithDefaults()
	d.Cluster.Seeds[0] = "changed"
	if c.Cluster.Seeds[0] != "127.0.0.1:7946" {
		t.Error("WithDefaults shares the seeds slice")
	}
	if err := d.Validate(); err != nil {
		// "changed" is not host:port: the copy is validated on its own.
		if c.Validate() != nil {
			t.Errorf("original invalid: %v", c.Validate())
		}
	}
	got := mustProblems(t, "node:\n  name: n\ncluster:\n  provider: etcd\n  etcd:\n    lease_ttl: 500ms\n")
	want := []string{
		"vsm.yaml:5: cluster.etcd.endpoints: must not be empty with provider etcd",
		"vsm.yaml:6: cluster.etcd.lease_ttl: must be at least 1s, got 500ms",
	}
	if !slices.Equal(got, want) {
		t.Errorf("etcd problems %q, want %q", got, want)
	}
}
