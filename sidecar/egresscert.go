package sidecar

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// egress serves bundle.EgressHost over TLS with a certificate from a CA of
// its own (bundle.NewEgressCert), which the launch makes and places with
// the bundle's files and the guest trusts. The CA signs that one name and
// nothing else (a name constraint), and its key is never written: once the
// leaf is signed, nobody can sign another certificate with it. The init
// makes the set itself only when it is missing (a bundle started by other
// means).

func (p paths) egressDir() string    { return filepath.Join(p.RunDir, "egress") }
func (p paths) egressCACert() string { return filepath.Join(p.egressDir(), "ca.pem") }
func (p paths) egressCert() string   { return filepath.Join(p.egressDir(), "cert.pem") }
func (p paths) egressKey() string    { return filepath.Join(p.egressDir(), "key.pem") }

// ensureEgressCert makes egress's CA and certificate unless the launch
// placed them or an earlier start of this bundle made them: the guest
// trusts what is there.
func (p paths) ensureEgressCert(now time.Time) (created bool, err error) {
	files := []string{p.egressKey(), p.egressCert(), p.egressCACert()}
	if fileExists(files[0]) && fileExists(files[1]) && fileExists(files[2]) {
		return false, nil
	}
	for _, f := range files { // a half-made set from a crash
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return false, fmt.Errorf("egress certificate: %w", err)
		}
	}
	if err := os.MkdirAll(p.egressDir(), 0o755); err != nil {
		return false, fmt.Errorf("egress certificate: %w", err)
	}
	ca, leaf, key, err := bundle.NewEgressCert(now)
	if err != nil {
		return false, fmt.Errorf("egress certificate: %w", err)
	}
	// The CA certificate last: its presence says the set is complete.
	for _, f := range []struct {
		path, kind string
		der        []byte
		mode       os.FileMode
	}{{files[0], "PRIVATE KEY", key, 0o600}, {files[1], "CERTIFICATE", leaf, 0o644}, {files[2], "CERTIFICATE", ca, 0o644}} {
		if err := writePEM(f.path, f.kind, f.der, f.mode); err != nil {
			return false, fmt.Errorf("egress certificate: %w", err)
		}
	}
	return true, nil
}

// writePEM writes one PEM block through a temporary file, so a crash leaves
// no half-written file under the name.
func writePEM(path, kind string, der []byte, mode os.FileMode) error {
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: kind, Bytes: der}); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// loadEgressCert is the certificate egress serves.
func (p paths) loadEgressCert() (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(p.egressCert(), p.egressKey())
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("egress: certificate: %w", err)
	}
	return cert, nil
}

// prepareEgress makes egress's certificate when the spec runs egress.
func (c initConfig) prepareEgress(spec bundle.Spec) error {
	if !spec.Has(bundle.Egress) {
		return nil
	}
	created, err := c.ensureEgressCert(time.Now())
	if err != nil {
		return err
	}
	if created {
		c.log.Infof("created egress CA %s (its key discarded) and a certificate for %s", c.egressCACert(), bundle.EgressHost)
	} else {
		c.log.Infof("keeping egress CA %s", c.egressCACert())
	}
	return nil
}
