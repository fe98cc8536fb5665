package redisstore_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/internal/redistest"

	goredis "github.com/redis/go-redis/v9"

	"github.com/viable-systems/vsm-connections/actors/redisstore"
	"github.com/viable-systems/vsm-connections/config"
)

const secret = "s3cr3t-Pa55"

func TestConfigErrorsRedactPassword(t *testing.T) {
	cases := []config.Redis{
		{URL: "redis://user:" + secret + "@127.0.0.1:6379/notanumber"},
		{URL: "redis://user:" + secret + "%zz@127.0.0.1:6379/0"},      // bad escape
		{URL: "redis://user:" + secret + "@127.0.0.1:6379/0/extra"},   // bad path
		{URL: "http://user:" + secret + "@127.0.0.1:6379/0"},          // bad scheme
		{URL: "redis://user:" + secret + "@host@127.0.0.1:6379/x"},    // '@' in the password
		{URL: "redis://u:" + secret + "@h:1", Addrs: []string{"a:1"}}, // both
		{Addrs: []string{"a:1"}, Password: secret, TLS: config.TLS{CAFile: "/nonexistent/" + secret}},
		{URL: "unix://user:" + secret + "@/tmp/redis.sock"},
		{},
	}
	for _, c := range cases {
		_, err := redisstore.New(c)
		if !errors.Is(err, redisstore.ErrInvalidConfig) {
			t.Errorf("New(%+v) = %v, want ErrInvalidConfig", c.URL, err)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "Pa55") {
			t.Errorf("error reveals the password: %v", err)
		}
	}
}

func TestStringRedactsPassword(t *testing.T) {
	for _, c := range []config.Redis{
		{URL: "redis://user:" + secret + "@127.0.0.1:6379/2"},
		{URL: "rediss://:" + secret + "@127.0.0.1:6379"},
		{URL: "redis://127.0.0.1:6379", Password: secret},
		{Addrs: []string{"a:1", "b:2"}, Password: secret},
		{Addrs: []string{"a:1"}, MasterName: "mymaster", Password: secret},
	} {
		st, err := redisstore.New(c)
		if err != nil {
			t.Fatal(err)
		}
		if s := st.String(); strings.Contains(s, secret) {
			t.Errorf("String reveals the password: %s", s)
		}
		_ = st.Close()
	}
}

// The command errors of a store with a password never show it either.
func TestCommandErrorRedactsPassword(t *testing.T) {
	st := newStore(t, config.Redis{URL: "redis://nosuchuser:" + secret + "@" + redistest.Addr(t), Timeout: config.Duration(2 * time.Second)})
	err := st.Ping(t.Context())
	if err == nil {
		t.Fatal("AUTH with a password the server does not have succeeded")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error reveals the password: %v", err)
	}
}

func FuzzRedactedConfigError(f *testing.F) {
	for _, s := range []string{"p@ss", "p%zz", "a:b", "x/y", "ünï", "%41%42"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		if len(pw) < 6 || strings.ContainsAny(pw, " \t\r\n") {
			return // too short to tell a leak from a coincidence
		}
		for _, u := range []string{
			"redis://user:" + pw + "@127.0.0.1:6379/bad",
			"redis://user:" + pw + "@127.0.0.1:6379/0",
		} {
			st, err := redisstore.New(config.Redis{URL: u})
			var text string
			if err != nil {
				text = err.Error()
			} else {
				text = st.String()
				_ = st.Close()
			}
			if strings.Contains(text, pw) {
				t.Fatalf("%q reveals the password %q", text, pw)
			}
		}
	})
}

func TestTLSFiles(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeCert(t, dir)
	st, err := redisstore.New(config.Redis{URL: "redis://127.0.0.1:1", TLS: config.TLS{CAFile: caFile, CertFile: certFile, KeyFile: keyFile, ServerName: "redis.test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !strings.Contains(st.String(), "(tls)") {
		t.Fatalf("String = %s, want TLS noted", st)
	}
	tc := st.Client().(*goredis.Client).Options().TLSConfig
	if tc == nil || tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.ServerName != "redis.test" {
		t.Fatalf("TLS config = %+v", tc)
	}
	st2, err := redisstore.New(config.Redis{URL: "rediss://127.0.0.1:6380"})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if tc := st2.Client().(*goredis.Client).Options().TLSConfig; tc == nil || tc.ServerName != "127.0.0.1" {
		t.Fatalf("rediss TLS config = %+v", tc)
	}
	for _, bad := range []config.TLS{{CAFile: keyFile}, {CertFile: certFile}, {CertFile: caFile, KeyFile: caFile}} {
		if _, err := redisstore.New(config.Redis{URL: "redis://127.0.0.1:1", TLS: bad}); !errors.Is(err, redisstore.ErrInvalidConfig) {
			t.Errorf("TLS %+v: %v, want ErrInvalidConfig", bad, err)
		}
	}
}

func writeCert(t *testing.T, dir string) (ca, cert, key string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redis.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		DNSNames: []string{"redis.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert = filepath.Join(dir, "cert.pem")
	key = filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, cert, key
}

// A real TLS server: rediss:// with the CA file verifies it; without the CA
// the handshake fails (and says so without the password).
func TestTLSServer(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeCert(t, dir)
	srv := redistest.StartTLS(t, []string{"--tls-cert-file", cert, "--tls-key-file", key,
		"--tls-ca-cert-file", ca, "--tls-auth-clients", "no"})
	st := newStore(t, config.Redis{URL: "rediss://" + srv.Addr(), TLS: config.TLS{CAFile: ca}, Timeout: config.Duration(2 * time.Second)})
	ctx := t.Context()
	if err := st.Set(ctx, "tls:k", 1); err != nil {
		t.Fatalf("Set over TLS: %v", err)
	}
	var n int
	if err := st.Get(ctx, "tls:k", &n); err != nil || n != 1 {
		t.Fatalf("Get over TLS = %d, %v", n, err)
	}
	untrusted := newStore(t, config.Redis{URL: "rediss://:" + secret + "@" + srv.Addr(), Timeout: config.Duration(2 * time.Second)})
	err := untrusted.Ping(ctx)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("Ping without the CA = %v", err)
	}
}

func TestClientKinds(t *testing.T) {
	const timeout = 750 * time.Millisecond
	cases := []struct {
		cfg  config.Redis
		kind string
	}{
		{config.Redis{URL: "redis://127.0.0.1:1/3", PoolSize: 7, Timeout: config.Duration(timeout)}, "*redis.Client"},
		{config.Redis{Addrs: []string{"127.0.0.1:1"}, Timeout: config.Duration(timeout)}, "*redis.Client"},
		{config.Redis{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}, Timeout: config.Duration(timeout)}, "*redis.ClusterClient"},
		{config.Redis{Addrs: []string{"127.0.0.1:1"}, MasterName: "m", Timeout: config.Duration(timeout)}, "*redis.Client"},
	}
	for _, c := range cases {
		st, err := redisstore.New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%T", st.Client()); got != c.kind {
			t.Errorf("%+v: client %s, want %s", c.cfg, got, c.kind)
		}
		if st.Timeout() != timeout {
			t.Errorf("Timeout = %v", st.Timeout())
		}
		if cl, ok := st.Client().(*goredis.Client); ok && c.cfg.URL != "" {
			o := cl.Options()
			if o.DB != 3 || o.PoolSize != 7 || o.ReadTimeout != timeout || o.WriteTimeout != timeout ||
				o.DialTimeout != timeout || o.PoolTimeout != timeout || !o.ContextTimeoutEnabled {
				t.Errorf("options = %+v", o)
			}
		}
		_ = st.Close()
	}
}
