package images

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/claude-bottle/claude-bottle/shell"
)

// linuxBinary is a static linux ELF executable to put in the bundle
// context: the test binary itself is dynamic when cgo is on.
func linuxBinary(t *testing.T) string {
	t.Helper()
	return writeELF(t, "static", false)
}

// writeELF writes a minimal ELF executable: one PT_LOAD segment and, with
// interp, a PT_INTERP segment as a cgo build has.
func writeELF(t *testing.T, name string, interp bool) string {
	t.Helper()
	const ehsize, phsize = 64, 56
	interpreter := []byte("/lib64/ld-linux-x86-64.so.2\x00")
	progs := 1
	if interp {
		progs = 2
	}
	dataOff := uint64(ehsize + phsize*progs)
	le := binary.LittleEndian
	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // 64-bit, little endian, SysV
	for _, v := range []any{uint16(elf.ET_EXEC), uint16(elf.EM_X86_64), uint32(1), uint64(0x401000),
		uint64(ehsize), uint64(0), uint32(0), uint16(ehsize), uint16(phsize), uint16(progs), uint16(64), uint16(0), uint16(0)} {
		binary.Write(&b, le, v)
	}
	prog := func(typ elf.ProgType, off, size uint64) {
		for _, v := range []any{uint32(typ), uint32(elf.PF_R), off, 0x400000 + off, 0x400000 + off, size, size, uint64(0x1000)} {
			binary.Write(&b, le, v)
		}
	}
	if interp {
		prog(elf.PT_INTERP, dataOff, uint64(len(interpreter)))
	}
	prog(elf.PT_LOAD, 0, dataOff+uint64(len(interpreter)))
	b.Write(interpreter)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func readTar(t *testing.T, data []byte) ([]*tar.Header, map[string][]byte) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var hdrs []*tar.Header
	content := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read %s: %v", h.Name, err)
		}
		hdrs = append(hdrs, h)
		content[h.Name] = b
	}
	return hdrs, content
}

func TestContextEntries(t *testing.T) {
	bin := linuxBinary(t)
	opts := DefaultOptions()
	opts.Binary = bin
	builds, err := Plan(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(builds) != 2 || builds[0].Image != Bundle || builds[1].Image != Agent {
		t.Fatalf("builds = %+v", builds)
	}
	wantBin, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		b    Build
		want map[string]int64 // name -> mode
		data map[string][]byte
	}{
		{builds[0], map[string]int64{"Dockerfile": 0o644, "claude-bottle": 0o755},
			map[string][]byte{"Dockerfile": mustDockerfile(t, Bundle), "claude-bottle": wantBin}},
		{builds[1], map[string]int64{"Dockerfile": 0o644},
			map[string][]byte{"Dockerfile": mustDockerfile(t, Agent)}},
	} {
		var buf bytes.Buffer
		if err := tc.b.WriteContext(&buf); err != nil {
			t.Fatal(err)
		}
		hdrs, content := readTar(t, buf.Bytes())
		if len(hdrs) != len(tc.want) {
			t.Errorf("%s: %d entries, want %d", tc.b.Image, len(hdrs), len(tc.want))
		}
		for _, h := range hdrs {
			mode, ok := tc.want[h.Name]
			if !ok {
				t.Errorf("%s: unexpected entry %q", tc.b.Image, h.Name)
				continue
			}
			if h.Typeflag != tar.TypeReg || h.Mode != mode || h.Uid != 0 || h.Gid != 0 || h.Uname != "root" || h.Gname != "root" {
				t.Errorf("%s: %s: type %c mode %o owner %d:%d (%s:%s), want regular %o root", tc.b.Image, h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, mode)
			}
			if !h.ModTime.Equal(contextTime) {
				t.Errorf("%s: %s: mtime %v, want %v", tc.b.Image, h.Name, h.ModTime, contextTime)
			}
			if !bytes.Equal(content[h.Name], tc.data[h.Name]) {
				t.Errorf("%s: %s: content differs (%d bytes, want %d)", tc.b.Image, h.Name, len(content[h.Name]), len(tc.data[h.Name]))
			}
		}
		// Same inputs, same bytes.
		var again bytes.Buffer
		if err := tc.b.WriteContext(&again); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), again.Bytes()) {
			t.Errorf("%s: context not reproducible", tc.b.Image)
		}
	}
}

func mustDockerfile(t *testing.T, img string) []byte {
	t.Helper()
	b, err := Dockerfile(img)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantTranscript is the default build with --binary BIN: the bases pinned
// by digest, pipelock by tag.
const wantTranscript = `# build context of claude-bottle/bundle:latest (tar on stdin):
#   root 0644 Dockerfile  (images/bundle/Dockerfile)
#   root 0755 claude-bottle  (from BIN)
docker build --force-rm -t claude-bottle/bundle:latest --build-arg BASE=debian:bookworm-slim@sha256:abd67ffcfa541b485a3dff59865ab629aa048a6c613e639d36e7456b0b229241 --build-arg PIPELOCK_IMAGE=ghcr.io/luckypipewrench/pipelock:2.3.0 -
# build context of claude-bottle/agent:latest (tar on stdin):
#   root 0644 Dockerfile  (images/agent/Dockerfile)
docker build --force-rm -t claude-bottle/agent:latest --build-arg BASE=node:22-bookworm-slim@sha256:48e4b67d85f87bd551df43704e24d252f56cc5f8e9718841aace50f19948f0f9 --build-arg CLAUDE_CODE_VERSION=latest -
`

// runApp runs `claude-bottle images build ARGS…` with r as the runner.
func runApp(r shell.Runner, args ...string) error {
	app := &cli.App{
		Name:     "claude-bottle",
		Commands: []*cli.Command{Command(func(*cli.Context) shell.Runner { return r })},
	}
	return app.Run(append([]string{"claude-bottle", "images", "build"}, args...))
}

func TestDryRunStable(t *testing.T) {
	bin := linuxBinary(t)
	var transcripts []string
	for range 2 {
		rec := &shell.Recorder{}
		if err := runApp(rec, "--binary", bin); err != nil {
			t.Fatal(err)
		}
		transcripts = append(transcripts, strings.ReplaceAll(rec.Transcript(), bin, "BIN"))
		calls := rec.Calls()
		if len(calls) != 2 {
			t.Fatalf("%d calls, want 2", len(calls))
		}
		// The recorder drained the streamed contexts: they are real tars.
		hdrs, content := readTar(t, calls[0].Stdin)
		if len(hdrs) != 2 || hdrs[0].Name != "Dockerfile" || hdrs[1].Name != "claude-bottle" {
			t.Errorf("bundle context = %v", hdrs)
		}
		if !bytes.HasPrefix(content["claude-bottle"], []byte("\x7fELF")) {
			t.Error("bundle context: claude-bottle is not an ELF binary")
		}
		if hdrs, _ := readTar(t, calls[1].Stdin); len(hdrs) != 1 || hdrs[0].Name != "Dockerfile" {
			t.Errorf("agent context = %v", hdrs)
		}
	}
	if transcripts[0] != transcripts[1] {
		t.Errorf("transcript differs between runs:\n%s\n---\n%s", transcripts[0], transcripts[1])
	}
	if got := transcripts[0]; got != wantTranscript {
		t.Errorf("transcript:\n%s\nwant:\n%s", got, wantTranscript)
	}
}

func TestDryRunReadsNoContext(t *testing.T) {
	var out bytes.Buffer
	if err := runApp(&shell.DryRun{W: &out}, "--only", "bundle", "--binary", linuxBinary(t)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "docker build --force-rm -t claude-bottle/bundle:latest ") {
		t.Errorf("dry-run printed:\n%s", out.String())
	}
}

func TestFlags(t *testing.T) {
	bin := linuxBinary(t)
	rec := &shell.Recorder{}
	err := runApp(rec,
		"--bundle-base", "claude-bottle-test/debian:bookworm",
		"--agent-base", "claude-bottle-test/node:bookworm",
		"--pipelock-image", "claude-bottle-test/pipelock-standin:latest",
		"--claude-code-version", "none",
		"--binary", bin,
		"--tag-prefix", "claude-bottle-test",
		"--label", "claude-bottle.test=1",
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docker build --force-rm -t claude-bottle-test/bundle:latest --build-arg BASE=claude-bottle-test/debian:bookworm --build-arg PIPELOCK_IMAGE=claude-bottle-test/pipelock-standin:latest --label claude-bottle.test=1 -",
		"docker build --force-rm -t claude-bottle-test/agent:latest --build-arg BASE=claude-bottle-test/node:bookworm --build-arg CLAUDE_CODE_VERSION=none --label claude-bottle.test=1 -",
	}
	calls := rec.Calls()
	if len(calls) != len(want) {
		t.Fatalf("%d calls, want %d", len(calls), len(want))
	}
	for i, c := range calls {
		if got := shell.Join(c.Argv); got != want[i] {
			t.Errorf("call %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
	if !strings.Contains(strings.Join(calls[0].Note, "\n"), "claude-bottle  (from "+bin+")") {
		t.Errorf("bundle note does not name --binary: %q", calls[0].Note)
	}

	rec = &shell.Recorder{}
	if err := runApp(rec, "--only", "agent"); err != nil {
		t.Fatal(err)
	}
	if calls := rec.Calls(); len(calls) != 1 || calls[0].Argv[4] != DefaultAgentImage {
		t.Errorf("--only agent ran %v", calls)
	}
}

func TestPlanRejects(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "script")
	if err := os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"only", func(o *Options) { o.Only = "both" }, `--only "both"`},
		{"base", func(o *Options) { o.BundleBase = "-x" }, `--bundle-base "-x" is not an image name`},
		{"agent base", func(o *Options) { o.AgentBase = "a b" }, `--agent-base "a b"`},
		{"pipelock", func(o *Options) { o.PipelockImage = "" }, `--pipelock-image ""`},
		{"prefix tag", func(o *Options) { o.TagPrefix = "x:1" }, `--tag-prefix "x:1" must be a repository prefix`},
		{"version", func(o *Options) { o.ClaudeCodeVersion = "1.0 && rm" }, `--claude-code-version`},
		{"label", func(o *Options) { o.Labels = []string{"nolabel"} }, `--label "nolabel" is not KEY=VALUE`},
		{"not elf", func(o *Options) { o.Binary = text }, "not a linux (ELF) binary"},
		{"missing", func(o *Options) { o.Binary = filepath.Join(dir, "nope") }, "no such file"},
		{"dynamic", func(o *Options) { o.Binary = writeELF(t, "cgo", true) }, "is dynamically linked (a program interpreter), and the bundle needs a static binary"},
		{"pipelock digest", func(o *Options) { o.PipelockDigest = "sha256:abc" }, `--pipelock-digest "sha256:abc" is not a digest`},
		{"pipelock digest twice", func(o *Options) {
			o.PipelockImage, o.PipelockDigest = "p:1@sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
		}, "has a digest already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Binary = linuxBinary(t)
			tc.mod(&o)
			_, err := Plan(o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Plan: %v, want error containing %q", err, tc.want)
			}
		})
	}
	// Bad input runs nothing.
	rec := &shell.Recorder{}
	if err := runApp(rec, "--only", "x"); err == nil || len(rec.Calls()) != 0 {
		t.Errorf("bad --only: err %v, %d calls", err, len(rec.Calls()))
	}
	rec = &shell.Recorder{}
	if err := runApp(rec, "--binary", writeELF(t, "cgo", true)); err == nil || len(rec.Calls()) != 0 {
		t.Errorf("dynamic --binary: err %v, %d calls", err, len(rec.Calls()))
	}
}

// TestRefusesCgoBinary: a cgo build of claude-bottle (dynamic: glibc's
// loader and libc, which the bundle's base may not match) is refused
// (found: images build computed "dynamic" and went on). A shared library's
// DT_NEEDED alone counts too.
func TestRefusesCgoBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs linux binaries")
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc: no cgo build")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\n// int two(void) { return 2; }\nimport \"C\"\n\nfunc main() { println(C.two()) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cgo := filepath.Join(dir, "cgo")
	build := exec.Command("go", "build", "-o", cgo, src)
	build.Env = append(os.Environ(), "CGO_ENABLED=1", "CC="+gcc, "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cgo build: %v\n%s", err, out)
	}
	lib := filepath.Join(dir, "lib.so")
	csrc := filepath.Join(dir, "lib.c")
	os.WriteFile(csrc, []byte("#include <stdio.h>\nvoid hi(void) { puts(\"hi\"); }\n"), 0o644)
	if out, err := exec.Command(gcc, "-shared", "-fPIC", "-o", lib, csrc).CombinedOutput(); err != nil {
		t.Fatalf("gcc -shared: %v\n%s", err, out)
	}
	for bin, want := range map[string]string{cgo: "(a program interpreter; needs libc.so", lib: "(needs libc.so"} {
		o := DefaultOptions()
		o.Binary = bin
		if _, err := Plan(o); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
			t.Errorf("%s: %v, want a refusal with %q and how to build a static one", filepath.Base(bin), err, want)
		}
	}
}

// TestDefaultBinary: without --binary the bundle gets this executable,
// when it is static; a cgo-built one is refused with how to build one.
func TestDefaultBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs a linux executable")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	f.Close()
	builds, err := Plan(DefaultOptions())
	switch {
	case dynamic && (err == nil || !strings.Contains(err.Error(), "(this executable) is dynamically linked")):
		t.Errorf("a cgo test binary: %v, want a refusal", err)
	case !dynamic && (err != nil || builds[0].Files[1].Describe != "this executable"):
		t.Errorf("a static test binary: %v", err)
	}
}

func TestPipelockDigest(t *testing.T) {
	d := "sha256:" + strings.Repeat("0", 64)
	rec := &shell.Recorder{}
	if err := runApp(rec, "--only", "bundle", "--binary", linuxBinary(t), "--pipelock-digest", d); err != nil {
		t.Fatal(err)
	}
	if a := shell.Join(rec.Calls()[0].Argv); !strings.Contains(a, " --build-arg PIPELOCK_IMAGE="+DefaultPipelockImage+"@"+d+" ") {
		t.Errorf("argv %s", a)
	}
}

func TestFailedBuildNamesImage(t *testing.T) {
	rec := &shell.Recorder{Answer: func(i int, c shell.Cmd) shell.Reply {
		return shell.Reply{ExitCode: 1, Stderr: "pull access denied"}
	}}
	err := runApp(rec, "--binary", linuxBinary(t))
	var se *shell.Error
	if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), "build bundle image: docker build") {
		t.Errorf("err = %v", err)
	}
	if n := len(rec.Calls()); n != 1 {
		t.Errorf("%d calls after a failure, want 1", n)
	}
}

// A runner that stops reading the context early must not leave the
// context's writer behind.
type halfReader struct{ n int }

func (h *halfReader) Run(_ context.Context, c shell.Cmd) error {
	buf := make([]byte, 100)
	_, err := io.ReadFull(c.Stdin, buf)
	h.n++
	return err
}

func TestAbandonedContext(t *testing.T) {
	r := &halfReader{}
	if err := runApp(r, "--binary", linuxBinary(t)); err != nil {
		t.Fatal(err)
	}
	if r.n != 2 {
		t.Errorf("%d builds, want 2", r.n)
	}
}

func TestDockerfiles(t *testing.T) {
	bundle := string(mustDockerfile(t, Bundle))
	agent := string(mustDockerfile(t, Agent))
	for _, df := range []string{bundle, agent} {
		if regexp.MustCompile(`(?m)^# *syntax`).MatchString(df) || regexp.MustCompile(`(?i)_proxy`).MatchString(df) {
			t.Error("Dockerfile has a syntax line or proxy variables")
		}
	}
	for _, want := range []string{
		"ARG BASE=" + DefaultBundleBase + "\n",
		"ARG PIPELOCK_IMAGE=" + DefaultPipelockImage + "\n",
		"FROM ${PIPELOCK_IMAGE} AS pipelock\n",
		"COPY --from=pipelock /pipelock /usr/local/bin/pipelock\n",
		"COPY claude-bottle /usr/local/bin/claude-bottle\n",
		`ENTRYPOINT ["/usr/local/bin/claude-bottle","sidecar","run"]`,
	} {
		if !strings.Contains(bundle, want) {
			t.Errorf("bundle Dockerfile lacks %q", want)
		}
	}
	if strings.Index(bundle, "ARG PIPELOCK_IMAGE") > strings.Index(bundle, "\nFROM ") {
		t.Error("bundle Dockerfile: ARGs must come before the first FROM")
	}
	for _, want := range []string{
		"ARG BASE=" + DefaultAgentBase + "\n",
		"ENV HOME=/home/node\n",
		"WORKDIR /home/node/workspace\n",
		`CMD ["sleep","infinity"]`,
	} {
		if !strings.Contains(agent, want) {
			t.Errorf("agent Dockerfile lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?m)^USER`).MatchString(agent) {
		t.Error("agent Dockerfile has a USER line")
	}
}
