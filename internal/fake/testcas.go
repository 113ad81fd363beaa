package fake

import (
	"time"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// TestCAs are fixed CAs (made once with bundle.NewCAs, valid from 2026 for
// ten years) for the golden transcripts, whose archive sizes and
// fingerprints must not change from run to run. Test keys: never use them
// for anything else.
func TestCAs(_ time.Time, egress bool) (bundle.CAs, error) {
	c := bundle.CAs{PipelockCert: []byte(testPipelockCert), PipelockKey: []byte(testPipelockKey)}
	if egress {
		c.EgressCA, c.EgressCert, c.EgressKey = []byte(testEgressCA), []byte(testEgressCert), []byte(testEgressKey)
	}
	return c, nil
}

// TestCAsFingerprint is the SHA-256 fingerprint of TestCAs' pipelock CA.
const TestCAsFingerprint = "ED:EB:22:D9:89:AB:8D:1F:D5:72:75:61:77:9D:2A:D1:91:85:72:C4:8A:8E:94:EA:66:70:67:A1:2B:52:F6:DD"

const (
	testPipelockCert = `-----BEGIN CERTIFICATE-----
MIIBuzCCAWGgAwIBAgIQAeYB1RJ7Q89h/z1a3iw2+TAKBggqhkjOPQQDAjA8MRYw
FAYDVQQKEw1jbGF1ZGUtYm90dGxlMSIwIAYDVQQDExljbGF1ZGUtYm90dGxlIHBp
cGVsb2NrIENBMB4XDTI1MTIzMTIzMDAwMFoXDTM1MTIzMDAwMDAwMFowPDEWMBQG
A1UEChMNY2xhdWRlLWJvdHRsZTEiMCAGA1UEAxMZY2xhdWRlLWJvdHRsZSBwaXBl
bG9jayBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABGwwiqtQXUkD7LS5fZtO
2zv4GCCupXqWbP7L52q22fuuTSy9zb2SKCCzQVj9ytR3J2KXYwcML63c5PEexcOg
CMejRTBDMA4GA1UdDwEB/wQEAwIBBjASBgNVHRMBAf8ECDAGAQH/AgEAMB0GA1Ud
DgQWBBQxmOecIIzv3iQ1t0GGSyTNiSSSkjAKBggqhkjOPQQDAgNIADBFAiBUPGgP
ArW2d8yDxTh6Q3CBNHDZ9ix5MI4iyPo2TaR7rwIhAKO8T5ISgd/atOa6fjH6I9OR
0100ZkdzHUhGJHkqtg1+
-----END CERTIFICATE-----
`
	testPipelockKey = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIEUvQX6fbeYGHInZsF+COpJybQbHGJnSzJVG/MJxjJLhoAoGCCqGSM49
AwEHoUQDQgAEbDCKq1BdSQPstLl9m07bO/gYIK6lepZs/svnarbZ+65NLL3NvZIo
ILNBWP3K1HcnYpdjBwwvrdzk8R7Fw6AIxw==
-----END EC PRIVATE KEY-----
`
	testEgressCA = `-----BEGIN CERTIFICATE-----
MIIB4TCCAYegAwIBAgIQUCk3gnm2hjpGpU+Y/ID3WDAKBggqhkjOPQQDAjA6MRYw
FAYDVQQKEw1jbGF1ZGUtYm90dGxlMSAwHgYDVQQDExdjbGF1ZGUtYm90dGxlIGVn
cmVzcyBDQTAeFw0yNTEyMzEyMzAwMDBaFw0zNTEyMzAwMDAwMDBaMDoxFjAUBgNV
BAoTDWNsYXVkZS1ib3R0bGUxIDAeBgNVBAMTF2NsYXVkZS1ib3R0bGUgZWdyZXNz
IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQ42t7srG/GtRFZwuUWmNwA8S
7QzLPPUqTVC/3Yy11P3bvErSC7ZeMSnIgnSi03iqGjT/87/Lv1aNdhkfsKpeiaNv
MG0wDgYDVR0PAQH/BAQDAgIEMBIGA1UdEwEB/wQIMAYBAf8CAQAwHQYDVR0OBBYE
FNxc8ekJVVHJhDcHcHyivUkh8uEKMCgGA1UdHgEB/wQeMBygGjAYghZlZ3Jlc3Mu
Ym90dGxlLmludGVybmFsMAoGCCqGSM49BAMCA0gAMEUCIBgBOv+35bhrLY05S1hl
f9UmJkTRtnvMejJ5QZmven40AiEAuYC0kqJuX4vrBvumvmCoTb3+9ZVpLJ71ZdKN
/rARZ7w=
-----END CERTIFICATE-----
`
	testEgressCert = `-----BEGIN CERTIFICATE-----
MIIBwzCCAWqgAwIBAgIQYqH7KukMrU8at8FrfgyHszAKBggqhkjOPQQDAjA6MRYw
FAYDVQQKEw1jbGF1ZGUtYm90dGxlMSAwHgYDVQQDExdjbGF1ZGUtYm90dGxlIGVn
cmVzcyBDQTAeFw0yNTEyMzEyMzAwMDBaFw0zNTEyMzAwMDAwMDBaMCExHzAdBgNV
BAMTFmVncmVzcy5ib3R0bGUuaW50ZXJuYWwwWTATBgcqhkjOPQIBBggqhkjOPQMB
BwNCAAR/5zOw/6ENZ7UIJ0oc0uY9hJhgiONebv9Iybo1pgj9fDe7J4jPIe92TI2p
dLu5pMX1dQ+62eUEGngJ5bXvHH6lo2swaTAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0l
BAwwCgYIKwYBBQUHAwEwHwYDVR0jBBgwFoAU3Fzx6QlVUcmENwdwfKK9SSHy4Qow
IQYDVR0RBBowGIIWZWdyZXNzLmJvdHRsZS5pbnRlcm5hbDAKBggqhkjOPQQDAgNH
ADBEAiAHua/TAQmanOKqz9vNUhrtRgNHqAv/LxId3CmkWkSbtQIgZBxpQkk/7EJr
rppyeyflVGKQie7bTapYDmSoQ4nTS6A=
-----END CERTIFICATE-----
`
	testEgressKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguDXpu+o/l0cht4qP
fXRqlA/XI2BGAADNJMGng4Co6zyhRANCAAR/5zOw/6ENZ7UIJ0oc0uY9hJhgiONe
bv9Iybo1pgj9fDe7J4jPIe92TI2pdLu5pMX1dQ+62eUEGngJ5bXvHH6l
-----END PRIVATE KEY-----
`
)
