package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
)

// CA kinds: the CA provisioning installs is egress's when egress runs (it
// intercepts the agent's TLS first), else pipelock's.
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
