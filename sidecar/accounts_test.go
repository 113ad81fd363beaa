package sidecar

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// TestHandOutGivesEachSecretToItsDaemon: the CA key is pipelock's alone,
// the SSH keys git-gate's, the decisions root's (issue 10, finding 13).
func TestHandOutGivesEachSecretToItsDaemon(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root (CI runs as root)")
	}
	ti := newTestInit(t, bundle.Spec{Daemons: []string{bundle.Pipelock}}, nil)
	c := ti.initConfig
	c.accts = accounts{
		bundle.Pipelock:  {name: "pipelock", uid: 10001, gid: 10001},
		bundle.GitGate:   {name: "git-gate", uid: 10002, gid: 10002},
		bundle.Supervise: {name: "supervise", uid: 10003, gid: 10003},
	}
	key := filepath.Join(c.credentialDir, "origin")
	mustWrite(t, key, []byte("KEY"))
	mustWrite(t, c.caKey(), []byte("CAKEY"))
	mustWrite(t, c.caCert(), []byte("CERT"))
	mustWrite(t, filepath.Join(c.decisionsDir, "decisions.jsonl"), nil)
	mustWrite(t, filepath.Join(c.superviseDir, "audit.jsonl"), nil)
	if err := os.Symlink("/etc/passwd", filepath.Join(c.superviseDir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := c.accts.handOut(c.ownership()); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][2]uint32{ // uid, mode
		c.caKey():       {10001, 0o600},
		c.caCert():      {0, 0o644},
		key:             {10002, 0o644}, // mode as placed (the launch places keys 0600); owner handed
		c.credentialDir: {10002, 0o700},
		filepath.Join(c.superviseDir, "audit.jsonl"): {10003, 0o644},
		c.decisionsDir: {0, 0o755},
		filepath.Join(c.decisionsDir, "decisions.jsonl"): {0, 0o644},
	} {
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != want[0] || st.Mode&0o777 != want[1] {
			t.Errorf("%s: uid %d mode %o, want uid %d mode %o", path, st.Uid, st.Mode&0o777, want[0], want[1])
		}
	}
	if fi, _ := os.Stat("/etc/passwd"); fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Error("handOut followed a symlink out of the tree")
	}
}
