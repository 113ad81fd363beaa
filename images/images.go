// Package images builds claude-bottle's two images, the bundle (sidecar) and
// the agent, with `docker build` through the command runner. The Dockerfiles
// are embedded; each build context is a tar stream written on the fly to the
// command's stdin (`docker build … -`), so nothing is staged on disk and the
// dry-run prints the same command line every time.
//
// Builds never need a registry when the base images are local: the
// Dockerfiles have no `# syntax=` line and the build never passes --pull.
package images

import (
	"archive/tar"
	"context"
	"debug/elf"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/shell"
)

// Default image names the launcher uses (`--bundle-image`, `--agent-image`).
const (
	DefaultBundleImage = "claude-bottle/bundle:latest"
	DefaultAgentImage  = "claude-bottle/agent:latest"
)

// Defaults of `images build`. The bases are pinned by digest (NAME:TAG@
// DIGEST: docker pulls exactly that image, and the tag says what it is);
// the digests are the tags' multi-platform index digests as published in
// docker-library/repo-info (repos/debian/remote/bookworm-slim.md, debian
// 2026-08-03; repos/node/remote/22-bookworm-slim.md, node 22.23.2,
// 2026-09-19). README "Images" says how to refresh them. pipelock 2.3.0's
// digest was not found published, so it stays pinned by tag;
// --pipelock-digest pins it.
const (
	DefaultTagPrefix         = "claude-bottle"
	DefaultBundleBase        = "debian:bookworm-slim@sha256:abd67ffcfa541b485a3dff59865ab629aa048a6c613e639d36e7456b0b229241"
	DefaultAgentBase         = "node:22-bookworm-slim@sha256:48e4b67d85f87bd551df43704e24d252f56cc5f8e9718841aace50f19948f0f9"
	DefaultPipelockImage     = "ghcr.io/luckypipewrench/pipelock:2.3.0"
	DefaultClaudeCodeVersion = "latest"
	// ClaudeCodeNone installs no Claude Code in the agent image.
	ClaudeCodeNone = "none"
)

// Image names, as in --only and in the tag (<prefix>/<name>:latest).
const (
	Bundle = "bundle"
	Agent  = "agent"
)

//go:embed bundle/Dockerfile agent/Dockerfile
var dockerfiles embed.FS

// Dockerfile returns the embedded Dockerfile of an image (Bundle or Agent).
func Dockerfile(image string) ([]byte, error) {
	return dockerfiles.ReadFile(image + "/Dockerfile")
}

// binaryName is the claude-bottle binary's name in the bundle's context
// (the Dockerfile copies it to bundle.Binary).
const binaryName = "claude-bottle"

// contextTime is the modification time of every entry of a build context,
// so that the same inputs give the same tar.
var contextTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Options are the inputs of a build (the flags of `images build`).
type Options struct {
	BundleBase    string
	AgentBase     string
	PipelockImage string
	// PipelockDigest (sha256:…), when set, pins PipelockImage by digest.
	PipelockDigest    string
	ClaudeCodeVersion string
	// Binary is the linux claude-bottle binary copied into the bundle; ""
	// means this executable (only on linux).
	Binary    string
	TagPrefix string
	// Only is Bundle, Agent, or "" for both.
	Only string
	// Labels are KEY=VALUE labels given to each image (docker build --label).
	Labels []string
}

// DefaultOptions are the defaults of `images build`.
func DefaultOptions() Options {
	return Options{
		BundleBase:        DefaultBundleBase,
		AgentBase:         DefaultAgentBase,
		PipelockImage:     DefaultPipelockImage,
		ClaudeCodeVersion: DefaultClaudeCodeVersion,
		TagPrefix:         DefaultTagPrefix,
	}
}

// File is one entry of a build context: a regular file owned by root.
type File struct {
	Name string
	Mode int64
	// Data is the content, or nil when it is read from Source.
	Data []byte
	// Source is a host path to read the content from when Data is nil.
	Source string
	// Describe says where the content comes from, for the transcript.
	Describe string
}

// Build is one `docker build` of the plan.
type Build struct {
	Image     string // Bundle or Agent
	Tag       string
	BuildArgs []string // NAME=VALUE, in Dockerfile order
	Labels    []string
	Files     []File
}

// Argv is the docker command line of the build; its context is on stdin.
func (b Build) Argv() []string {
	argv := []string{"docker", "build", "--force-rm", "-t", b.Tag}
	for _, a := range b.BuildArgs {
		argv = append(argv, "--build-arg", a)
	}
	for _, l := range b.Labels {
		argv = append(argv, "--label", l)
	}
	return append(argv, "-")
}

// Note lists what the build context holds, one "owner mode path" line each.
func (b Build) Note() []string {
	note := []string{"build context of " + b.Tag + " (tar on stdin):"}
	for _, f := range b.Files {
		line := fmt.Sprintf("  root %04o %s", f.Mode, f.Name)
		if f.Describe != "" {
			line += "  (" + f.Describe + ")"
		}
		note = append(note, line)
	}
	return note
}

var (
	// imageRef is a loose check of a docker image reference: no spaces, no
	// leading dash (it lands in argv).
	imageRef = regexp.MustCompile(`^[a-z0-9][a-zA-Z0-9._/:@-]*$`)
	// npmVersion is an npm version or dist-tag.
	npmVersion = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._+-]*$`)
	// labelKV is a KEY=VALUE label.
	labelKV = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._/-]*=.*$`)
	// digestRE is an image digest.
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// Plan validates the options and returns the builds they ask for, in order
// (bundle, then agent). It runs nothing; it reads the binary's ELF header.
func Plan(opts Options) ([]Build, error) {
	for _, c := range []struct{ flag, v string }{
		{"--bundle-base", opts.BundleBase},
		{"--agent-base", opts.AgentBase},
		{"--pipelock-image", opts.PipelockImage},
		{"--tag-prefix", opts.TagPrefix},
	} {
		if !imageRef.MatchString(c.v) {
			return nil, fmt.Errorf("images build: %s %q is not an image name", c.flag, c.v)
		}
	}
	if strings.ContainsAny(opts.TagPrefix, ":@") {
		return nil, fmt.Errorf("images build: --tag-prefix %q must be a repository prefix without tag or digest", opts.TagPrefix)
	}
	pipelock, err := pinned(opts.PipelockImage, opts.PipelockDigest)
	if err != nil {
		return nil, err
	}
	if !npmVersion.MatchString(opts.ClaudeCodeVersion) {
		return nil, fmt.Errorf("images build: --claude-code-version %q is not an npm version, tag or %q", opts.ClaudeCodeVersion, ClaudeCodeNone)
	}
	for _, l := range opts.Labels {
		if !labelKV.MatchString(l) || strings.ContainsAny(l, "\n\x00") {
			return nil, fmt.Errorf("images build: --label %q is not KEY=VALUE", l)
		}
	}
	var want []string
	switch opts.Only {
	case "":
		want = []string{Bundle, Agent}
	case Bundle, Agent:
		want = []string{opts.Only}
	default:
		return nil, fmt.Errorf("images build: --only %q: want %q or %q", opts.Only, Bundle, Agent)
	}

	var builds []Build
	for _, img := range want {
		df, err := Dockerfile(img)
		if err != nil {
			return nil, fmt.Errorf("images build: %w", err) // embedded: cannot happen
		}
		b := Build{
			Image:  img,
			Tag:    opts.TagPrefix + "/" + img + ":latest",
			Labels: opts.Labels,
			Files:  []File{{Name: "Dockerfile", Mode: 0o644, Data: df, Describe: "images/" + img + "/Dockerfile"}},
		}
		switch img {
		case Bundle:
			bin, err := binaryFile(opts.Binary)
			if err != nil {
				return nil, err
			}
			b.BuildArgs = []string{"BASE=" + opts.BundleBase, "PIPELOCK_IMAGE=" + pipelock}
			b.Files = append(b.Files, bin)
		case Agent:
			b.BuildArgs = []string{"BASE=" + opts.AgentBase, "CLAUDE_CODE_VERSION=" + opts.ClaudeCodeVersion}
		}
		builds = append(builds, b)
	}
	return builds, nil
}

// pinned is image pinned by digest (IMAGE@DIGEST), or image when digest is
// empty.
func pinned(image, digest string) (string, error) {
	switch {
	case digest == "":
		return image, nil
	case !digestRE.MatchString(digest):
		return "", fmt.Errorf("images build: --pipelock-digest %q is not a digest (sha256: and 64 hex digits)", digest)
	case strings.Contains(image, "@"):
		return "", fmt.Errorf("images build: --pipelock-image %q has a digest already; drop --pipelock-digest", image)
	}
	return image + "@" + digest, nil
}

// binaryFile is the bundle context's claude-bottle entry, after checking
// that the binary is a static linux (ELF) executable.
func binaryFile(binary string) (File, error) {
	src, describe := binary, "from "+binary
	if binary == "" {
		if runtime.GOOS != "linux" {
			return File{}, fmt.Errorf("images build: this claude-bottle is a %s binary and the bundle image needs a linux one: build one (GOOS=linux CGO_ENABLED=0 go build -o claude-bottle-linux .) and pass --binary PATH", runtime.GOOS)
		}
		exe, err := os.Executable()
		if err != nil {
			return File{}, fmt.Errorf("images build: find this executable (pass --binary PATH): %w", err)
		}
		src, describe = exe, "this executable"
	}
	dynamic, err := inspectELF(src)
	if err != nil {
		return File{}, fmt.Errorf("images build: --binary %s: %w", src, err)
	}
	if dynamic != "" {
		// The bundle's base has its own C library, maybe older than the
		// one this binary was linked against: it could fail to start there.
		return File{}, fmt.Errorf("images build: %s (%s) is dynamically linked (%s), and the bundle needs a static binary: "+
			"build one with CGO_ENABLED=0 go build -o claude-bottle-linux . and pass --binary claude-bottle-linux", src, describe, dynamic)
	}
	return File{Name: binaryName, Mode: 0o755, Source: src, Describe: describe}, nil
}

// inspectELF checks that path is a linux ELF executable and says why it is
// dynamically linked ("" when it is static): a program interpreter
// (PT_INTERP: a cgo build) or shared libraries it needs (DT_NEEDED).
func inspectELF(path string) (dynamic string, err error) {
	f, err := elf.Open(path)
	if err != nil {
		var fe *elf.FormatError
		if errors.As(err, &fe) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return "", errors.New("not a linux (ELF) binary")
		}
		return "", err
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return "", fmt.Errorf("ELF file of type %s is not an executable", f.Type)
	}
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return "", fmt.Errorf("ELF binary for %s, not linux", f.OSABI)
	}
	var why []string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			why = append(why, "a program interpreter")
			break
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return "", fmt.Errorf("read its dynamic section: %w", err)
	}
	if len(libs) > 0 {
		why = append(why, "needs "+strings.Join(libs, ", "))
	}
	return strings.Join(why, "; "), nil
}

// WriteContext writes the build's context as a tar archive to w: every
// entry a root-owned regular file with a fixed modification time.
func (b Build) WriteContext(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, f := range b.Files {
		if err := writeFile(tw, f); err != nil {
			return fmt.Errorf("build context of %s: %w", b.Tag, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("build context of %s: %w", b.Tag, err)
	}
	return nil
}

func writeFile(tw *tar.Writer, f File) error {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     path.Clean(f.Name),
		Mode:     f.Mode,
		Uid:      0,
		Gid:      0,
		Uname:    "root",
		Gname:    "root",
		ModTime:  contextTime,
		Format:   tar.FormatPAX,
	}
	if f.Data != nil {
		hdr.Size = int64(len(f.Data))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(f.Data)
		return err
	}
	// O_NONBLOCK: a FIFO put in the binary's place is refused below, not
	// waited on in open(2).
	src, err := os.OpenFile(f.Source, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", f.Source)
	}
	hdr.Size = info.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, src); err != nil {
		return fmt.Errorf("read %s: %w", f.Source, err)
	}
	return nil
}

// Run builds the planned images one after the other through r: one
// `docker build … -` each, its context streamed on stdin, docker's output
// on claude-bottle's stderr as docker writes it (shell.Cmd.Progress).
func Run(ctx context.Context, r shell.Runner, builds []Build) error {
	for _, b := range builds {
		stdin := newLazyContext(b)
		// docker's own progress on claude-bottle's stderr: on a terminal,
		// its live view.
		err := r.Run(ctx, shell.Cmd{Argv: b.Argv(), Stdin: stdin, Note: b.Note(), Progress: true})
		stdin.Close()
		if err != nil {
			return fmt.Errorf("build %s image: %w", b.Image, err)
		}
		if err := stdin.Err(); err != nil {
			return fmt.Errorf("build %s image: %w", b.Image, err)
		}
	}
	return nil
}

// lazyContext is a build context that is written only when someone reads
// it (a dry-run never does), through a pipe, so it is never held whole.
type lazyContext struct {
	b     Build
	start sync.Once
	pr    *io.PipeReader
	done  chan struct{}
	err   error
}

func newLazyContext(b Build) *lazyContext { return &lazyContext{b: b} }

func (l *lazyContext) Read(p []byte) (int, error) {
	l.start.Do(func() {
		pr, pw := io.Pipe()
		l.pr, l.done = pr, make(chan struct{})
		go func() {
			defer close(l.done)
			l.err = l.b.WriteContext(pw)
			pw.CloseWithError(l.err)
		}()
	})
	if l.pr == nil {
		return 0, io.ErrClosedPipe
	}
	return l.pr.Read(p)
}

// errAbandoned ends the writer of a context whose reader went away.
var errAbandoned = errors.New("build context no longer read")

// Close stops the writer if the reader left early, and waits for it.
func (l *lazyContext) Close() error {
	l.start.Do(func() {})
	if l.pr != nil {
		l.pr.CloseWithError(errAbandoned)
		<-l.done
	}
	return nil
}

// Err is the error of writing the context (a binary that went away…),
// unless the reader stopped reading first.
func (l *lazyContext) Err() error {
	if errors.Is(l.err, errAbandoned) {
		return nil
	}
	return l.err
}
