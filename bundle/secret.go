package bundle

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// The bottle's secret is a capability: every agent-facing port but
// pipelock's answers only a request that carries it — git-gate in the
// path of the repository (git://HOST/SECRET/NAME.git), supervise in the
// path of the URL (http://HOST/SECRET/). On smolmachines those ports sit on
// the host's loopback, where any local process (another user's, another
// bottle's guest) can connect; only this bottle's guest was given the
// secret. pipelock's proxy port has no such check (README, Limits).
//
// The launch makes one per bottle (NewSecret) and places it at SecretPath,
// root 0600; the init copies it for each daemon that checks it, readable by
// that daemon's user alone (DaemonSecretPath). It is never in an argv, a
// log line or the dry-run (SecretPlaceholder stands for it there).
const (
	// SecretPath is where the launch places the bottle's secret.
	SecretPath = ConfigDir + "/secret"
	// SecretPlaceholder is what the dry-run and the logs show instead.
	SecretPlaceholder = "<bottle-secret>"
	// secretBytes is the secret's entropy: 128 bits, hex-encoded.
	secretBytes = 16
)

// DaemonSecretPath is the daemon's copy of the secret (its user's, 0400).
func DaemonSecretPath(daemon string) string { return RunDir + "/secrets/" + daemon }

// NewSecret makes a bottle's secret from crypto/rand.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("bottle secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// ValidSecret reports whether s has the form NewSecret gives.
func ValidSecret(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == secretBytes && s == strings.ToLower(s)
}

// SecretMatches compares what a client sent with the secret in constant
// time (no timing tells a guesser how much of it was right).
func SecretMatches(got, secret string) bool {
	return secret != "" && subtle.ConstantTimeCompare([]byte(got), []byte(secret)) == 1
}

// ReadSecret reads a secret file (one line) and checks its form.
func ReadSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("bottle secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if !ValidSecret(s) {
		return "", fmt.Errorf("bottle secret: %s does not hold one (%d hex digits)", path, 2*secretBytes)
	}
	return s, nil
}
