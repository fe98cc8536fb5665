package httppool

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/viable-systems/vsm-connections/config"
	"github.com/viable-systems/vsm-connections/fault"
	"github.com/viable-systems/vsm-connections/vsmtest"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a leaf certificate; it returns the tls.Certificate and its
// PEM certificate and key.
func (ca *testCA) issue(t *testing.T, cn string, usage x509.ExtKeyUsage, serial int64) (tls.Certificate, []byte, []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certPEM, keyPEM
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func hostPortOf(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return h, n
}

// HTTPS with the pool's CA file and client certificate, against a server
// that requires a client certificate from that CA.
func TestHTTPSWithCAFileAndClientCertificate(t *testing.T) {
	ca := newCA(t)
	serverCert, _, _ := ca.issue(t, "server", x509.ExtKeyUsageServerAuth, 2)
	_, clientPEM, clientKey := ca.issue(t, "client-a", x509.ExtKeyUsageClientAuth, 3)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: roots, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host, port := hostPortOf(t, srv.Listener.Addr().String())
	dir := t.TempDir()
	tlsFiles := config.TLS{
		CAFile:   writeFile(t, dir, "ca.pem", ca.pem),
		CertFile: writeFile(t, dir, "client.pem", clientPEM),
		KeyFile:  writeFile(t, dir, "client-key.pem", clientKey),
	}
	once := []fault.Option{fault.MaxAttempts(1)}

	cfg, err := FromConfig("secure", config.Pool{Host: host, Port: port, TLS: tlsFiles})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Scheme != "https" {
		t.Fatalf("scheme %q: TLS files imply https", cfg.Scheme)
	}
	c := newClient(t, cfg)
	resp, err := c.Do(bg(t), Request{URL: "/whoami", Retry: once})
	if err != nil || string(resp.Body) != "client-a" {
		t.Fatalf("%+v %v", resp, err)
	}

	// Without the client certificate the server refuses the handshake.
	noCert := tlsFiles
	noCert.CertFile, noCert.KeyFile = "", ""
	cfg, _ = FromConfig("secure", config.Pool{Scheme: "https", Host: host, Port: port, TLS: noCert})
	if _, err := newClient(t, cfg).Do(bg(t), Request{URL: "/", Retry: once}); err == nil {
		t.Fatal("no client certificate: accepted")
	}
	// Without the CA the server is not trusted: there is no insecure mode.
	cfg, _ = FromConfig("secure", config.Pool{Scheme: "https", Host: host, Port: port})
	if _, err := newClient(t, cfg).Do(bg(t), Request{URL: "/", Retry: once}); err == nil {
		t.Fatal("unknown CA: accepted")
	}

	for _, bad := range []config.TLS{
		{CAFile: filepath.Join(dir, "missing.pem")},
		{CAFile: writeFile(t, dir, "junk.pem", []byte("junk"))},
		{CertFile: tlsFiles.CertFile},
		{CertFile: tlsFiles.CertFile, KeyFile: tlsFiles.CAFile},
	} {
		if _, err := LoadTLS(bad); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
}

func TestHTTPSAgainstMockService(t *testing.T) {
	svc := vsmtest.NewMockService(t, vsmtest.WithTLS())
	host, port := hostPortOf(t, svc.Addr())
	cfg, err := FromConfig("mock", config.Pool{Scheme: "https", Host: host, Port: port,
		TLS: config.TLS{CAFile: writeFile(t, t.TempDir(), "ca.pem", svc.CAPEM())}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := newClient(t, cfg).Do(bg(t), Request{URL: "/"})
	if err != nil || resp.Status != 200 {
		t.Fatalf("%+v %v", resp, err)
	}
}

func TestRoundTripper(t *testing.T) {
	svc := vsmtest.NewMockService(t)
	svc.RespondTo("POST /echo", 200, "got it", nil)
	c := newClient(t, Config{Name: "api", Endpoints: []string{svc.Addr()}})
	hc := &http.Client{Transport: c}
	resp, err := hc.Post("http://api/echo", "text/plain", stringsReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := make([]byte, 16)
	n, _ := resp.Body.Read(b)
	last, _ := svc.LastRequest()
	if resp.StatusCode != 200 || string(b[:n]) != "got it" || string(last.Body) != "hello" || last.Path != "/echo" {
		t.Fatalf("%d %q %+v", resp.StatusCode, b[:n], last)
	}
	svc.FailNext(1, 500)
	resp, err = hc.Post(svc.URL()+"/echo", "text/plain", nil) // POST: not retried
	if err != nil || resp.StatusCode != 500 {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()
}

// An https pool whose dial and handshake cannot outlast its timeout keeps
// it on the connection under TLS too (the transport hands the attempt a
// *tls.Conn over the pool's counted one), and clears it after the try.
func TestPoolTimeoutKeptOnTheTLSConnection(t *testing.T) {
	srv := httptest.NewUnstartedServer(stallServer(t).Config.Handler)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	const limit = 500 * time.Millisecond
	c := newClient(t, Config{Scheme: "https", Endpoints: []string{srv.Listener.Addr().String()}, TLS: &tls.Config{RootCAs: roots},
		Timeout: limit, DialTimeout: limit / 2, TLSHandshakeTimeout: limit / 2})
	ctx := context.Background()
	if resp, err := c.Do(ctx, Request{URL: "/ok", Retry: once}); err != nil || string(resp.Body) != "ok" {
		t.Fatalf("%+v %v", resp, err)
	}
	<-time.After(2 * limit) // past the first request's deadline, its connection idle
	start := time.Now()
	_, err := c.Do(ctx, Request{URL: "/stall", Retry: once})
	if te := timeoutOf(t, err); te.Limit != LimitPool || te.Timeout != limit {
		t.Fatalf("limit %v %v: %v", te.Limit, te.Timeout, err)
	}
	if took := time.Since(start); took < limit || took > 5*time.Second {
		t.Fatalf("a %v limit ended after %v", limit, took)
	}
	// The stalled request reused the first one's connection (then broke it).
	if st := c.Stats(); st.ConnsOpened != 1 {
		t.Fatalf("%d connections opened, want the first one reused", st.ConnsOpened)
	}
}
