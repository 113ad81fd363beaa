package testimages

import (
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/fake"
	"github.com/claude-bottle/claude-bottle/provision"
)

// TestTrustScriptMatchesUpdateCACertificates: in the agent image, the
// launch's fast CA install leaves what update-ca-certificates leaves — the
// .pem link, a hashed link OpenSSL's directory lookup finds, the certificate
// once in the bundle file — so openssl (file and directory lookups) and
// curl trust it; a second run changes nothing.
func TestTrustScriptMatchesUpdateCACertificates(t *testing.T) {
	needImages(t)
	name, label := scope(t)
	state := `cd /etc/ssl/certs && for f in *; do printf '%s -> %s\n' "$f" "$(readlink "$f")"; done | grep -i claude; ` +
		`grep -c BEGIN ca-certificates.crt; grep -cxF "$(sed -n 2p /usr/local/share/ca-certificates/claude-bottle-pipelock.crt)" ca-certificates.crt`
	results := map[string]string{}
	for i, install := range map[string][]string{
		"update-ca-certificates": {"update-ca-certificates"},
		"trust script":           provision.TrustArgv(provision.CAPipelock),
	} {
		ctr := name + "-" + strings.ReplaceAll(i, " ", "-")
		mustDocker(t, nil, "run", "-d", "--name", ctr, "--label", label, agentImage, "sleep", "300")
		mustDocker(t, tarOf(t, "claude-bottle-pipelock.crt", 0o644, []byte(fake.TestCA+"\n")), "cp", "-", ctr+":/usr/local/share/ca-certificates/")
		mustDocker(t, nil, append([]string{"exec", ctr}, install...)...)
		if i == "trust script" { // a rerun changes nothing
			mustDocker(t, nil, append([]string{"exec", ctr}, install...)...)
		}
		results[i] = mustDocker(t, nil, "exec", ctr, "sh", "-c", state)
		for _, check := range []string{
			"openssl verify -no-CAfile -CApath /etc/ssl/certs /usr/local/share/ca-certificates/claude-bottle-pipelock.crt",
			"openssl verify -no-CApath -CAfile /etc/ssl/certs/ca-certificates.crt /usr/local/share/ca-certificates/claude-bottle-pipelock.crt",
		} {
			if out, err := docker(t, nil, "exec", ctr, "sh", "-c", check); err != nil || !strings.Contains(out, ": OK") {
				t.Errorf("%s: %s: %v %s", i, check, err, out)
			}
		}
	}
	if results["trust script"] != results["update-ca-certificates"] {
		t.Errorf("the trust script leaves\n%s\nupdate-ca-certificates leaves\n%s", results["trust script"], results["update-ca-certificates"])
	}
	if !strings.Contains(results["trust script"], "claude-bottle-pipelock.pem -> /usr/local/share/ca-certificates/claude-bottle-pipelock.crt") {
		t.Errorf("no .pem link:\n%s", results["trust script"])
	}
}
