package bundle

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"
)

func parseCert(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", b)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNewCAs: pipelock's CA is what pipelock's loader takes (its
// certgen.LoadCA: an ECDSA CA certificate that may sign, an "EC PRIVATE
// KEY" that matches it) and signs leaves only; egress's CA signs egress's
// name and nothing else; without egress there is none.
func TestNewCAs(t *testing.T) {
	now := time.Now()
	c, err := NewCAs(now, true)
	if err != nil {
		t.Fatal(err)
	}
	ca := parseCert(t, c.PipelockCert)
	blk, _ := pem.Decode(c.PipelockKey)
	if blk == nil || blk.Type != "EC PRIVATE KEY" {
		t.Fatalf("pipelock key: %q", c.PipelockKey)
	}
	key, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := ca.PublicKey.(*ecdsa.PublicKey)
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 || !ok || !pub.Equal(key.Public()) {
		t.Errorf("pipelock CA: IsCA %v, usage %v, key matches %v", ca.IsCA, ca.KeyUsage, ok && pub.Equal(key.Public()))
	}
	if ca.MaxPathLen != 0 || !ca.MaxPathLenZero || ca.NotAfter.Before(now.Add(CALife-time.Minute)) || ca.NotBefore.After(now) {
		t.Errorf("pipelock CA: path length %d (zero %v), valid %s to %s", ca.MaxPathLen, ca.MaxPathLenZero, ca.NotBefore, ca.NotAfter)
	}
	roots := x509.NewCertPool()
	roots.AddCert(parseCert(t, c.EgressCA))
	leaf := parseCert(t, c.EgressCert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: EgressHost}); err != nil {
		t.Errorf("egress certificate: %v", err)
	}
	if eca := parseCert(t, c.EgressCA); !eca.PermittedDNSDomainsCritical || len(eca.PermittedDNSDomains) != 1 || eca.PermittedDNSDomains[0] != EgressHost {
		t.Errorf("egress CA constraints: %v (critical %v)", eca.PermittedDNSDomains, eca.PermittedDNSDomainsCritical)
	}
	if string(c.Trusted()) != string(c.PipelockCert)+string(c.EgressCA) {
		t.Error("Trusted is not pipelock's CA then egress's")
	}
	c2, err := NewCAs(now, false)
	if err != nil || c2.EgressCA != nil || c2.EgressKey != nil || string(c2.Trusted()) != string(c2.PipelockCert) {
		t.Errorf("without egress: %v, egress CA %d bytes", err, len(c2.EgressCA))
	}
	if string(c2.PipelockKey) == string(c.PipelockKey) {
		t.Error("two bottles got the same CA key")
	}
}
