package cluster_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/viable-systems/vsm-connections/cluster"
	"github.com/viable-systems/vsm-connections/config"
)

func TestStartRejectsBadConfig(t *testing.T) {
	sys := actor.NewActorSystem()
	for name, c := range map[string]cluster.Config{
		"no name":       {},
		"host name":     {Name: "n", Host: "localhost"},
		"same ports":    {Name: "n", Port: 7000, GossipPort: 7000},
		"bad seed":      {Name: "n", Seeds: []string{"nohost"}},
		"short key":     {Name: "n", GossipKey: []byte("short")},
		"slow probe":    {Name: "n", Timings: cluster.Timings{ProbeInterval: time.Millisecond, ProbeTimeout: time.Second}},
		"half tls":      {Name: "n", TLS: &tls.Config{}},
		"suspicion":     {Name: "n", Timings: cluster.Timings{SuspicionMult: -1}},
		"port too high": {Name: "n", Port: 70000},
		"provider":      {Name: "n", Provider: "consul"},
		"etcd no ends":  {Name: "n", Provider: cluster.ProviderEtcd},
	} {
		n, err := cluster.Start(context.Background(), sys, c)
		if !errors.Is(err, cluster.ErrConfig) || n != nil {
			t.Errorf("%s: Start = %v, %v; want ErrConfig", name, n, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cluster.Start(ctx, sys, cluster.Config{Name: "n"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Start with a cancelled ctx: %v", err)
	}
}

// TestStartFailsCleanly: what cannot be bound or reached fails Start with
// ErrStart before protoactor's remote starts, leaving nothing running.
func TestStartFailsCleanly(t *testing.T) {
	sys := actor.NewActorSystem()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	if _, err := cluster.Start(context.Background(), sys, cluster.Config{Name: "n", GossipPort: port}); !errors.Is(err, cluster.ErrStart) {
		t.Errorf("gossip port in use: %v, want ErrStart", err)
	}
	cfg := cluster.Config{Name: "n", Provider: cluster.ProviderEtcd,
		Etcd: cluster.Etcd{Endpoints: []string{"http://127.0.0.1:1"}, DialTimeout: 200 * time.Millisecond}}
	if _, err := cluster.Start(context.Background(), sys, cfg); !errors.Is(err, cluster.ErrStart) {
		t.Errorf("etcd unreachable: %v, want ErrStart", err)
	}
}

func TestDefaults(t *testing.T) {
	d := cluster.Config{Name: "n"}.WithDefaults()
	if d.Host != "127.0.0.1" || d.Cluster != "vsm" || d.Timings != cluster.DefaultTimings {
		t.Errorf("defaults %+v", d)
	}
}

func TestFromConfig(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeCerts(t, dir)
	raw := filepath.Join(dir, "raw.key")
	b64 := filepath.Join(dir, "b64.key")
	bad := filepath.Join(dir, "bad.key")
	k := []byte("0123456789abcdef0123456789abcdef")
	must(t, os.WriteFile(raw, k, 0o600))
	must(t, os.WriteFile(b64, []byte("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"), 0o600))
	must(t, os.WriteFile(bad, []byte("nope"), 0o600))

	c := config.Cluster{
		Host: "127.0.0.2", Port: 7001, GossipPort: 7002, Seeds: []string{"127.0.0.1:7946"}, GossipKeyFile: raw,
		Timings: config.ClusterTimings{ProbeInterval: config.Duration(300 * time.Millisecond), SuspicionMult: 3},
		TLS:     config.TLS{CAFile: ca, CertFile: cert, KeyFile: key},
	}
	got, err := cluster.FromConfig(c, "n1", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "n1" || got.Cluster != "prod" || got.Host != "127.0.0.2" || got.Port != 7001 || got.GossipPort != 7002 ||
		string(got.GossipKey) != string(k) || got.Timings.ProbeInterval != 300*time.Millisecond || got.Timings.SuspicionMult != 3 ||
		got.TLS == nil || got.ClientTLS == nil || len(got.Seeds) != 1 {
		t.Errorf("FromConfig = %+v", got)
	}
	c.GossipKeyFile = b64
	if got, err := cluster.FromConfig(c, "n1", "prod"); err != nil || string(got.GossipKey) != string(k) {
		t.Errorf("base64 key: %q, %v", got.GossipKey, err)
	}
	c.GossipKeyFile = bad
	if _, err := cluster.FromConfig(c, "n1", "prod"); !errors.Is(err, cluster.ErrConfig) {
		t.Errorf("bad key: %v, want ErrConfig", err)
	}
	c.GossipKeyFile = filepath.Join(dir, "missing")
	if _, err := cluster.FromConfig(c, "n1", "prod"); !errors.Is(err, os.ErrNotExist) || !errors.Is(err, cluster.ErrConfig) {
		t.Errorf("missing key: %v, want ErrConfig and ErrNotExist", err)
	}
	c.GossipKeyFile, c.Provider = "", config.ClusterProviderEtcd
	c.Etcd = config.ClusterEtcd{Endpoints: []string{"http://127.0.0.1:2379"}, LeaseTTL: config.Duration(5 * time.Second)}
	if got, err := cluster.FromConfig(c, "n1", "prod"); err != nil || got.Provider != cluster.ProviderEtcd ||
		got.Etcd.LeaseTTL != 5*time.Second || len(got.Etcd.Endpoints) != 1 {
		t.Errorf("etcd: %+v, %v", got, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
