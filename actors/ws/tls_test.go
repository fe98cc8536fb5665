package ws

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

	"github.com/viable-systems/vsm-connections/event"
	"github.com/viable-systems/vsm-connections/internal/actortest"
)

// pki is a throw-away CA with a server and a client certificate, written
// as PEM files.
type pki struct {
	caFile, certFile, keyFile string
	server                    tls.Certificate
	pool                      *x509.CertPool
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips ...net.IP) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	srvDER, srvKey := issue(2, "server", x509.ExtKeyUsageServerAuth, net.ParseIP("127.0.0.1"))
	cliDER, cliKey := issue(3, "client-7", x509.ExtKeyUsageClientAuth)
	cliKeyDER, _ := x509.MarshalECPrivateKey(cliKey)
	p := pki{
		caFile:   write("ca.pem", "CERTIFICATE", caDER),
		certFile: write("client.pem", "CERTIFICATE", cliDER),
		keyFile:  write("client-key.pem", "EC PRIVATE KEY", cliKeyDER),
		server:   tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey},
		pool:     x509.NewCertPool(),
	}
	p.pool.AddCert(ca)
	return p
}

// wss:// with a CA file and a client certificate, against a server that
// requires one.
func TestWSSWithCAFileAndClientCert(t *testing.T) {
	ctx := testCtx(t)
	p := newPKI(t)
	srv := newServer(t)
	srv.tls = func(ln net.Listener) net.Listener {
		return tls.NewListener(ln, &tls.Config{
			Certificates: []tls.Certificate{p.server},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    p.pool,
			MinVersion:   tls.VersionTLS12,
		})
	}
	srv.listen("127.0.0.1:0")
	t.Cleanup(srv.Stop)
	url := "wss://" + srv.addr + "/"

	rec := newRecorder()
	cfg := fastConfig(url)
	cfg.Handler = rec
	cfg.TLS = TLS{CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyFile}
	c := spawn(t, nil, "tls", cfg, Env{})
	rec.expect(t, ctx, "connected")
	if h := srv.waitAccepted(ctx); h.Get("X-Client-CN") != "client-7" {
		t.Fatalf("server saw client certificate %q, want client-7", h.Get("X-Client-CN"))
	}
	if err := c.SendText(ctx, "secure"); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, ctx, "message", "secure")

	// Without the client certificate the handshake is refused, and the
	// attempt says so.
	sys := actortest.NewSystem(t)
	evs := collect(t, sys)
	cfg2 := fastConfig(url)
	cfg2.TLS = TLS{CAFile: p.caFile}
	spawn(t, sys, "nocert", cfg2, Env{Events: sys.EventStream})
	ev := evs.waitFor(t, ctx, "dial", func(ev event.Event) bool { return ev.Kind() == KindDialAttempted }).(*DialAttempted)
	if ev.Err == "" || ev.Endpoint != url {
		t.Fatalf("attempt without client cert = %+v, want a failure", ev)
	}
}
