package bundle

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// The bottle's CAs are made by the launch, before anything runs, and placed
// in the bundle with its other files: so the guest can trust them (and be
// provisioned) while the bundle is still starting, instead of waiting for
// the bundle to make them and the launch to fetch them back. The init keeps
// CA files it finds (as after a restart) and makes them itself only when
// they are missing.
const (
	// EgressCertPath and EgressKeyPath are what egress serves EgressHost
	// with; the key is handed to egress alone.
	EgressCertPath = EgressDir + "/cert.pem"
	EgressKeyPath  = EgressDir + "/key.pem"
	// CALife is how long the CAs and egress's certificate are valid: a
	// detached bottle may run for long (pipelock's `tls init` default).
	CALife = 10 * 365 * 24 * time.Hour
)

// CAs are one bottle's certificate authorities, PEM-encoded.
type CAs struct {
	// PipelockCert and PipelockKey are pipelock's CA, shaped as `pipelock
	// tls init` makes it (ECDSA P-256, an "EC PRIVATE KEY", path length
	// 0): pipelock signs the certificates of the hosts it intercepts with
	// it. The key goes to pipelock alone, never to the guest.
	PipelockCert, PipelockKey []byte
	// EgressCA is egress's CA, name-constrained to EgressHost; its key was
	// dropped once it signed EgressCert, so nothing else can be signed
	// with it. EgressKey is EgressCert's. All nil without egress.
	EgressCA, EgressCert, EgressKey []byte
}

// Trusted is what the guest trusts: pipelock's CA, then egress's.
func (c CAs) Trusted() []byte {
	return append(append([]byte(nil), c.PipelockCert...), c.EgressCA...)
}

// NewCAs makes a bottle's CAs from crypto/rand; egress's only when egress
// runs.
func NewCAs(now time.Time, egress bool) (CAs, error) {
	var c CAs
	var err error
	if c.PipelockCert, c.PipelockKey, err = newPipelockCA(now); err != nil {
		return CAs{}, fmt.Errorf("pipelock CA: %w", err)
	}
	if !egress {
		return c, nil
	}
	ca, leaf, key, err := NewEgressCert(now)
	if err != nil {
		return CAs{}, fmt.Errorf("egress certificate: %w", err)
	}
	c.EgressCA, c.EgressCert, c.EgressKey = pemBlock("CERTIFICATE", ca), pemBlock("CERTIFICATE", leaf), pemBlock("PRIVATE KEY", key)
	return c, nil
}

// newPipelockCA is pipelock's CA as pipelock 2.3's `tls init` makes it
// (internal/certgen.GenerateCA: its loader wants an ECDSA key, SEC1), under
// claude-bottle's name.
func newPipelockCA(now time.Time) (cert, key []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"claude-bottle"}, CommonName: "claude-bottle pipelock CA"},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(CALife), // an hour back: clock skew
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true, // signs leaves only
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", kder), nil
}

// NewEgressCert returns a CA certificate, a leaf for EgressHost it signed
// and the leaf's key (PKCS #8), all DER. The CA's key is dropped.
func NewEgressCert(now time.Time) (ca, leaf, leafKey []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{Organization: []string{"claude-bottle"}, CommonName: "claude-bottle egress CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(CALife),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign,
		PermittedDNSDomainsCritical: true, PermittedDNSDomains: []string{EgressHost},
	}
	if ca, err = x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey); err != nil {
		return nil, nil, nil, err
	}
	caCert, err := x509.ParseCertificate(ca)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: EgressHost}, DNSNames: []string{EgressHost},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(CALife),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if leaf, err = x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey); err != nil {
		return nil, nil, nil, err
	}
	leafKey, err = x509.MarshalPKCS8PrivateKey(key)
	return ca, leaf, leafKey, err
}

// serial is a positive 127-bit certificate serial number.
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand does not fail
	return n.Add(n, big.NewInt(1))
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}
