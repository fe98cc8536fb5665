package cluster_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMalformedFramesDoNotCrash: a second process sends each kind of
// malformed remote frame to a member; each one only ends the attacker's
// stream, the member stays up and keeps answering its peer.
func TestMalformedFramesDoNotCrash(t *testing.T) {
	pt := newPorts(t, 2)
	seeds := []string{pt[0].gossipAddr(), pt[1].gossipAddr()}
	x := launch(t, "x", pt[0], seeds)
	y := launch(t, "y", pt[1], seeds)
	x.waitReady()
	y.waitReady()
	x.waitFrom(0, formBound, "y joined", isEvent("member.joined", "y"))

	atk := run(t, "attacker", member(t), "-attack", y.ready.Address)
	atk.waitFrom(0, 20*time.Second, "attack done", func(l line) bool { return l.Event == "attack-done" })
	got := map[string]string{}
	atk.mu.Lock()
	for _, l := range atk.lines {
		if l.Event == "attack" {
			got[l.Kind] = l.Err
		}
	}
	atk.mu.Unlock()
	want := map[string]string{
		// The interceptor turned the receiver's panic into this status.
		"unknown-type": "InvalidArgument", "bad-serializer": "InvalidArgument", "bad-target": "InvalidArgument",
		"bad-type-id": "InvalidArgument", "bad-sender": "InvalidArgument",
		"unary": "Unimplemented",
		// protoactor reports an undecodable payload as an error itself.
		"garbage-data": "Unknown",
		// Not HTTP/2: gRPC's server closes the connection.
		"garbage-tcp": "closed",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("attack %s: receiver ended it with %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("attacks %v, want %d kinds", got, len(want))
	}
	if !y.alive() {
		t.Fatal("y died")
	}
	if n := y.do("panics", "panics").N; n != 6 {
		t.Errorf("y counted %d recovered panics, want 6", n)
	}
	if r := x.do("request y still-here", "reply"); r.Value != "y:still-here" {
		t.Errorf("x -> y after the attacks: %+v", r)
	}
	if r := y.do("request x and-you", "reply"); r.Value != "x:and-you" {
		t.Errorf("y -> x after the attacks: %+v", r)
	}
}

// TestEachMalformedFrameAlone sends each frame that panics protoactor's
// receiver to a fresh member of its own, so each is shown to be stopped by
// the interceptor (TestMalformedFramesDoNotCrash sends them in a row, and
// without the interceptor only the first would be tested).
func TestEachMalformedFrameAlone(t *testing.T) {
	for kind, code := range map[string]string{"unknown-type": "InvalidArgument", "bad-serializer": "InvalidArgument",
		"bad-target": "InvalidArgument", "bad-type-id": "InvalidArgument", "bad-sender": "InvalidArgument", "unary": "Unimplemented"} {
		t.Run(kind, func(t *testing.T) {
			pt := newPorts(t, 1)
			r := launch(t, "r", pt[0], nil)
			r.waitReady()
			atk := run(t, "attacker", member(t), "-attack", r.ready.Address, "-only", kind)
			l := atk.waitFrom(0, 20*time.Second, "attack", func(l line) bool { return l.Event == "attack" })
			if l.Err != code {
				t.Errorf("stream ended with %q, want %s", l.Err, code)
			}
			if !r.alive() {
				t.Fatal("receiver died")
			}
			if n := r.do("panics", "panics").N; n != 1 {
				t.Errorf("receiver counted %d recovered panics, want 1", n)
			}
		})
	}
}

// TestGossipKeyAndMutualTLS: members sharing the gossip key and TLS
// material form and talk; one with another key never joins; a plaintext
// peer cannot reach the remote port.
func TestGossipKeyAndMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeCerts(t, dir)
	keyFile := filepath.Join(dir, "gossip.key")
	otherKey := filepath.Join(dir, "other.key")
	if err := os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(otherKey, []byte("fedcba9876543210fedcba9876543210"), 0o600); err != nil {
		t.Fatal(err)
	}
	secure := []string{"-key-file", keyFile, "-tls-ca", ca, "-tls-cert", cert, "-tls-key", key}
	pt := newPorts(t, 3)
	seeds := []string{pt[0].gossipAddr(), pt[1].gossipAddr()}
	p := launch(t, "p", pt[0], seeds, secure...)
	q := launch(t, "q", pt[1], seeds, secure...)
	intruder := launch(t, "intruder", pt[2], seeds, "-key-file", otherKey, "-tls-ca", ca, "-tls-cert", cert, "-tls-key", key)
	p.waitReady()
	q.waitReady()
	intruder.waitReady()
	p.waitFrom(0, formBound, "q joined", isEvent("member.joined", "q"))
	q.waitFrom(0, formBound, "p joined", isEvent("member.joined", "p"))
	if r := p.do("request q over-tls", "reply"); r.Value != "q:over-tls" {
		t.Fatalf("p -> q over mTLS: %+v", r)
	}
	if r := q.do("request p back", "reply"); r.Value != "p:back" {
		t.Fatalf("q -> p over mTLS: %+v", r)
	}

	// The intruder has been trying its seeds since it started; by now two
	// rejoin rounds have passed. It must be in nobody's view.
	if _, err := p.tryWaitFrom(0, 2*time.Second, isEvent("member.joined", "intruder")); err == nil {
		t.Error("a member with another gossip key joined p")
	}
	if got := names(p.do("members", "members").Members); !slices.Equal(got, []string{"p", "q"}) {
		t.Errorf("p's members %v, want [p q]", got)
	}
	if got := names(intruder.do("members", "members").Members); !slices.Equal(got, []string{"intruder"}) {
		t.Errorf("intruder's members %v, want only itself", got)
	}

	// A plaintext peer cannot open a remote stream at all, so none of its
	// frames reach protoactor.
	atk := run(t, "attacker", member(t), "-attack", p.ready.Address)
	atk.waitFrom(0, 30*time.Second, "attack done", func(l line) bool { return l.Event == "attack-done" })
	atk.mu.Lock()
	for _, l := range atk.lines {
		if l.Event == "attack" && l.Kind != "garbage-tcp" && strings.Contains(l.Err, "InvalidArgument") {
			t.Errorf("plaintext attack %s reached protoactor: %s", l.Kind, l.Err)
		}
	}
	atk.mu.Unlock()
	if n := p.do("panics", "panics").N; n != 0 {
		t.Errorf("p counted %d panics from a plaintext peer, want 0", n)
	}
}

// writeCerts makes a CA and one certificate for 127.0.0.1 that serves as
// both server and client certificate.
func writeCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "member"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", leafDER), write("key.pem", "EC PRIVATE KEY", keyDER)
}
