package launch

import "testing"

func TestSmolvmVersionCheck(t *testing.T) {
	cases := map[string]bool{"smolvm 1.9.2": true, "smolvm 1.17.0": true, "smolvm 2.0": true, "smolvm 1.9.1": false,
		"smolvm 1.7.1": false, "smolvm": false, "": false, "smolvm v1.10.0": true}
	for out, ok := range cases {
		if c := versionCheck(out); c.OK != ok {
			t.Errorf("versionCheck(%q) = %v (%s), want %v", out, c.OK, c.Detail, ok)
		}
	}
}
