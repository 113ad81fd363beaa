package launch

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/shell"
)

// BenchmarkDryRunFullLaunch measures a whole dry-run launch (prepare and
// launch through the dry-run runner) with every input: cwd, prompt, two
// skills, an upstream, supervise. Target: 15 ms.
func BenchmarkDryRunFullLaunch(b *testing.B) {
	for _, backend := range []string{Docker, Smolmachines} {
		b.Run(backend, func(b *testing.B) {
			dir := b.TempDir()
			for _, d := range []string{"refs", "objects"} {
				os.MkdirAll(filepath.Join(dir, "repo", ".git", d), 0o755)
			}
			os.WriteFile(filepath.Join(dir, "repo", ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
			for _, s := range []string{"s1", "s2"} {
				os.MkdirAll(filepath.Join(dir, s), 0o755)
				os.WriteFile(filepath.Join(dir, s, "SKILL.md"), []byte("# skill\n"), 0o644)
			}
			os.WriteFile(filepath.Join(dir, "prompt.txt"), []byte("go"), 0o644)
			o := Options{Backend: backend, Name: "bench", Cwd: filepath.Join(dir, "repo"), Prompt: filepath.Join(dir, "prompt.txt"),
				Skills: []string{filepath.Join(dir, "s1"), filepath.Join(dir, "s2")}, Upstreams: []string{"origin=https://github.com/acme/app.git"},
				Supervise: true, AgentImage: "a", BundleImage: "b", SmolvmNet: NetAuto, DryRun: true,
				AgentLimits: DefaultAgentLimits(), BundleLimits: DefaultBundleLimits()}
			log := logrus.New()
			log.SetOutput(io.Discard)
			getenv := func(string) (string, bool) { return "", false }
			b.ReportAllocs()
			for b.Loop() {
				p, err := Prepare(o, getenv, "dryrun")
				if err != nil {
					b.Fatal(err)
				}
				l := &Launcher{R: &shell.DryRun{W: io.Discard}, Log: log, Out: io.Discard, Now: time.Now, CacheDir: "/cache", FS: NoFS{}}
				if err := l.Launch(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
