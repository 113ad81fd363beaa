package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
)

// CA kinds: the file provisioning installs is egress's when egress runs
// (egress's CA and pipelock's: the guest talks TLS to both, egress serving
// its own name through pipelock's untouched tunnel), else pipelock's.
const (
	CAEgress   = "egress"
	CAPipelock = "pipelock"
)

// CAKind picks the CA the guest must trust.
func CAKind(egress bool) string {
	if egress {
		return CAEgress
	}
	return CAPipelock
}

// Fingerprint returns the SHA-256 fingerprint of the first certificate in a
// PEM block, over its DER bytes, in OpenSSL's upper-case AA:BB:… form.
func Fingerprint(pemData []byte) (string, error) {
	for rest := pemData; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return "", errors.New("no PEM certificate found")
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		sum := sha256.Sum256(blk.Bytes)
		h := strings.ToUpper(hex.EncodeToString(sum[:]))
		var b strings.Builder
		for i := 0; i < len(h); i += 2 {
			if i > 0 {
				b.WriteByte(':')
			}
			b.WriteString(h[i : i+2])
		}
		return b.String(), nil
	}
}

// trustScript adds one CA to the guest's trust store as
// update-ca-certificates leaves it — the certificate under
// /usr/local/share/ca-certificates (placed by the archive), its .pem link in
// /etc/ssl/certs, the hashed link OpenSSL's directory lookup finds, and the
// certificate appended once to the bundle file — without rehashing the
// whole store (update-ca-certificates takes about 1.6 s for that; this
// takes an openssl call). openssl is there: Debian's ca-certificates
// depends on it. A hash that another certificate already holds takes the
// next suffix, as c_rehash does; a rerun changes nothing.
const trustScript = `set -eu
crt=$1 name=$2 certs=/etc/ssl/certs
ln -sf "$crt" "$certs/$name.pem"
h=$(openssl x509 -hash -noout -in "$crt")
n=0
while [ -e "$certs/$h.$n" ] && [ "$(readlink "$certs/$h.$n")" != "$name.pem" ]; do n=$((n+1)); done
ln -sf "$name.pem" "$certs/$h.$n"
grep -qxF "$(sed -n 2p "$crt")" "$certs/ca-certificates.crt" || cat "$crt" >>"$certs/ca-certificates.crt"
`

// TrustArgv is the root command that makes the guest trust the CA of kind.
func TrustArgv(kind string) []string {
	return []string{"sh", "-c", trustScript, "claude-bottle-trust", CAPath(kind), "claude-bottle-" + kind}
}
