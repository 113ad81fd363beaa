package provision

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestFingerprintMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	cert := filepath.Join(dir, "ca.pem")
	gen := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", filepath.Join(dir, "key.pem"), "-out", cert, "-days", "1", "-subj", "/CN=fingerprint test")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	out, err := exec.Command("openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256").Output()
	if err != nil {
		t.Fatal(err)
	}
	_, want, ok := strings.Cut(strings.TrimSpace(string(out)), "=")
	if !ok {
		t.Fatalf("openssl printed %q", out)
	}
	pem, _ := os.ReadFile(cert)
	got, err := Fingerprint(pem)
	if err != nil || got != want {
		t.Errorf("Fingerprint = %q, %v; openssl says %q", got, err, want)
	}
}

func TestFingerprintRejectsNonCertificates(t *testing.T) {
	for _, in := range []string{"", "\n", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if fp, err := Fingerprint([]byte(in)); err == nil {
			t.Errorf("Fingerprint(%q) = %q, want an error", in, fp)
		}
	}
}

func TestCAKind(t *testing.T) {
	if CAKind(true) != CAEgress || CAKind(false) != CAPipelock {
		t.Fatal("egress CA must win when egress runs")
	}
	if CAPath(CAPipelock) != "/usr/local/share/ca-certificates/claude-bottle-pipelock.crt" {
		t.Fatal(CAPath(CAPipelock))
	}
}
