package launch

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/provision"
)

func hostFileOptions() Options {
	return Options{Backend: Docker, Name: "h", SmolvmNet: NetAuto, AgentImage: "a", BundleImage: "b",
		AgentLimits: DefaultAgentLimits(), BundleLimits: DefaultBundleLimits()}
}

// prepareWithin runs Prepare and fails the test if it blocks: a FIFO
// opened without O_NONBLOCK waits for a writer, deaf to signals.
func prepareWithin(t *testing.T, o Options) (*Plan, error) {
	t.Helper()
	type result struct {
		p   *Plan
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := Prepare(o, func(string) (string, bool) { return "", false }, "x")
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-time.After(5 * time.Second):
		t.Fatal("Prepare still blocked after 5 s")
		return nil, nil
	}
}

// TestPrepareHostFiles: a FIFO as --prompt, --known-hosts or
// --git-credential, a device as --prompt, and files over their caps are
// input errors at prepare, before any command (found: a FIFO blocked even a
// dry-run; /dev/zero was read without end; a prompt over 128 KiB failed
// with "Argument list too long" once the bottle was built).
func TestPrepareHostFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	write := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("k"), n), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := write("ok", 10)
	atCap := write("prompt-at-cap", provision.MaxPromptSize)
	bigPrompt := write("prompt-big", provision.MaxPromptSize+1)
	bigKey := write("key-big", provision.MaxCredentialSize+1)
	bigHosts := write("hosts-big", provision.MaxKnownHostsSize+1)
	ssh := []string{"o=ssh://git@h/a.git"}

	for _, c := range []struct {
		name string
		mod  func(*Options)
		want string // "" accepted
	}{
		{"prompt at the cap", func(o *Options) { o.Prompt = atCap }, ""},
		{"prompt fifo", func(o *Options) { o.Prompt = fifo }, "invalid --prompt: " + fifo + " is a FIFO, not a regular file"},
		{"prompt device", func(o *Options) { o.Prompt = "/dev/zero" }, "invalid --prompt: /dev/zero is a device"},
		{"prompt over the cap", func(o *Options) { o.Prompt = bigPrompt }, "is larger than 131071 bytes: it becomes one argument of claude"},
		{"known hosts fifo", func(o *Options) { o.KnownHosts = fifo }, "invalid --known-hosts: " + fifo + " is a FIFO"},
		{"known hosts over the cap", func(o *Options) { o.KnownHosts = bigHosts }, "is larger than 1 MiB"},
		{"credential fifo", func(o *Options) {
			o.Upstreams, o.GitCredentials, o.KnownHosts = ssh, []string{"o=" + fifo}, ok
		}, `invalid --git-credential "o=` + fifo + `": ` + fifo + " is a FIFO"},
		{"credential over the cap", func(o *Options) {
			o.Upstreams, o.GitCredentials, o.KnownHosts = ssh, []string{"o=" + bigKey}, ok
		}, "is larger than 64 KiB"},
	} {
		o := hostFileOptions()
		c.mod(&o)
		_, err := prepareWithin(t, o)
		var ie *InputError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.As(err, &ie) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an input error with %q", c.name, err, c.want)
		}
	}
}

// TestSkillSymlinkResolved: a --skill that is a symlink to a directory
// arrives as that directory's content under the name the user gave (found:
// the check followed the link, the archive copied the link, dangling in
// the guest).
func TestSkillSymlinkResolved(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "review-v2")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "SKILL.md"), []byte("# review\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "skills"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "skills", "review")
	if err := os.Symlink("../review-v2", link); err != nil {
		t.Fatal(err)
	}
	o := hostFileOptions()
	o.Skills = []string{link}
	p, err := prepareWithin(t, o)
	if err != nil {
		t.Fatal(err)
	}
	files := provision.Files(p.Guest, provision.Live{CA: []byte("CERT"), CAKind: provision.CAPipelock})
	got := map[string]byte{}
	tr := tar.NewReader(provision.Archive(files))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h.Typeflag
	}
	want := map[string]byte{"home/node/.claude/skills/review/": tar.TypeDir, "home/node/.claude/skills/review/SKILL.md": tar.TypeReg}
	for name, typ := range want {
		if got[name] != typ {
			t.Errorf("%s: type %q, want %q; archive: %q", name, got[name], typ, got)
		}
	}
	if _, ok := got["home/node/.claude/skills/review"]; ok {
		t.Errorf("the skill travelled as a symlink: %q", got)
	}

	// Two links of one name, and a link to a file, are refused.
	o.Skills = []string{link, target + "/../skills/review"}
	if _, err := prepareWithin(t, o); err == nil || !strings.Contains(err.Error(), `same name "review"`) {
		t.Errorf("two skills named review: %v", err)
	}
	fileLink := filepath.Join(dir, "file-skill")
	if err := os.Symlink(filepath.Join(target, "SKILL.md"), fileLink); err != nil {
		t.Fatal(err)
	}
	o.Skills = []string{fileLink}
	if _, err := prepareWithin(t, o); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a link to a file: %v", err)
	}
}
