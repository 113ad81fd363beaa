package bundle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecret(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if !ValidSecret(a) || len(a) != 32 || a == b {
		t.Errorf("NewSecret: %q, %q", a, b)
	}
	if !SecretMatches(a, a) || SecretMatches(b, a) || SecretMatches("", "") || SecretMatches(a[:31], a) {
		t.Error("SecretMatches")
	}
	dir := t.TempDir()
	for content, want := range map[string]string{a + "\n": "", strings.ToUpper(a): "does not hold one", "x": "does not hold one", "": "does not hold one"} {
		p := filepath.Join(dir, "secret")
		os.WriteFile(p, []byte(content), 0o600)
		got, err := ReadSecret(p)
		if want == "" && (err != nil || got != a) || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("ReadSecret(%q) = %q, %v", content, got, err)
		}
	}
}
