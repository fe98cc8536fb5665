package grpcpool

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/viable-systems/vsm-connections/actors/grpcpool/internal/testpb"
	"github.com/viable-systems/vsm-connections/config"
)

func TestBalancingThroughGRPCPolicies(t *testing.T) {
	for _, policy := range []string{RoundRobin, "least_request"} {
		t.Run(policy, func(t *testing.T) {
			a := (&testServer{}).start(t, "")
			b := (&testServer{}).start(t, "")
			ch := newChannel(t, Config{Endpoints: []string{a.addr, b.addr}, Balancing: policy})
			client := testpb.NewTestClient(ch)
			for range 40 {
				if _, err := client.Unary(bounded(t), &testpb.Request{}, grpc.WaitForReady(true)); err != nil {
					t.Fatal(err)
				}
			}
			// pick_first would send all 40 to one; grpc-go's balancer
			// spreads them (it may start before both are ready).
			if a.calls.Load() == 0 || b.calls.Load() == 0 || a.calls.Load()+b.calls.Load() != 40 {
				t.Fatalf("calls %d and %d, want both endpoints used", a.calls.Load(), b.calls.Load())
			}
			if st := ch.Stats(); st.Conns[0].Transports != 2 {
				t.Fatalf("transports %d, want one per endpoint", st.Conns[0].Transports)
			}
		})
	}
	t.Run("pick_first", func(t *testing.T) {
		a := (&testServer{}).start(t, "")
		b := (&testServer{}).start(t, "")
		ch := newChannel(t, Config{Endpoints: []string{a.addr, b.addr}, Balancing: PickFirst})
		for range 10 {
			if _, err := testpb.NewTestClient(ch).Unary(bounded(t), &testpb.Request{}); err != nil {
				t.Fatal(err)
			}
		}
		if a.calls.Load() != 10 || b.calls.Load() != 0 {
			t.Fatalf("calls %d and %d, want all on the first", a.calls.Load(), b.calls.Load())
		}
	})
	if _, err := New(Config{Endpoints: []string{"127.0.0.1:1"}, Balancing: "random"}); err == nil {
		t.Fatal("an unknown policy was accepted")
	}
}

// pki writes a CA, a server certificate for 127.0.0.1 and a client
// certificate into dir.
type pki struct {
	caPool                 *x509.CertPool
	server                 tls.Certificate
	caFile, certFile, keyF string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(cn string, usage x509.ExtKeyUsage, serial int64) (tls.Certificate, []byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c, certPEM, keyPEM
	}
	p := &pki{caPool: x509.NewCertPool()}
	p.caPool.AddCert(ca)
	p.server, _, _ = issue("server", x509.ExtKeyUsageServerAuth, 2)
	_, cPEM, kPEM := issue("client", x509.ExtKeyUsageClientAuth, 3)
	p.caFile, p.certFile, p.keyF = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	for f, b := range map[string][]byte{p.caFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), p.certFile: cPEM, p.keyF: kPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestTLSWithClientCertificates(t *testing.T) {
	p := newPKI(t)
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{p.server}, ClientCAs: p.caPool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12})
	ts := (&testServer{}).start(t, "", grpc.Creds(creds), grpc.MaxConcurrentStreams(6))

	tc, err := LoadTLS(config.TLS{CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyF})
	if err != nil {
		t.Fatal(err)
	}
	ch := newChannel(t, Config{Endpoints: []string{ts.addr}, TLS: tc})
	r, err := testpb.NewTestClient(ch).Unary(bounded(t), &testpb.Request{Text: "tls"})
	if err != nil || r.GetText() != "tls" {
		t.Fatalf("mTLS call = %v, %v", r, err)
	}
	// The limit is read after TLS, from the decrypted frames.
	if st := ch.Stats(); st.StreamLimit != 6 {
		t.Fatalf("stream limit over TLS %d, want 6", st.StreamLimit)
	}

	noCert, err := LoadTLS(config.TLS{CAFile: p.caFile})
	if err != nil {
		t.Fatal(err)
	}
	ch2 := newChannel(t, Config{Endpoints: []string{ts.addr}, TLS: noCert, Retry: RetryPolicy{MaxAttempts: 1}})
	if _, err := testpb.NewTestClient(ch2).Unary(bounded(t), &testpb.Request{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("without a client certificate: %v, want Unavailable", err)
	}
	plain := newChannel(t, Config{Endpoints: []string{ts.addr}, Retry: RetryPolicy{MaxAttempts: 1}})
	if _, err := testpb.NewTestClient(plain).Unary(bounded(t), &testpb.Request{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("plain text to a TLS server: %v, want Unavailable", err)
	}
	if _, err := LoadTLS(config.TLS{CertFile: p.certFile}); err == nil {
		t.Fatal("a cert without its key was accepted")
	}
}
