package launch

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/claude-bottle/claude-bottle/shell"
)

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

type tarEntry struct {
	name string
	data []byte
}

func tarOf(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func manifestJSON(t *testing.T, config string, layers ...string) []byte {
	t.Helper()
	b, err := json.Marshal([]map[string]any{{"Config": config, "RepoTags": []string{"claude-bottle/agent:latest"}, "Layers": layers}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// classicArchive is `docker save` of docker's classic store (Docker < 25):
// the config is <ID>.json, each layer <hash>/layer.tar, manifest.json last.
func classicArchive(t *testing.T, id string) []byte {
	layer := bytes.Repeat([]byte("L"), 3000)
	return tarOf(t, []tarEntry{
		{"aaaa/layer.tar", layer}, {"aaaa/json", []byte("{}")},
		{id + ".json", []byte(`{"architecture":"amd64"}`)},
		{"manifest.json", manifestJSON(t, id+".json", "aaaa/layer.tar")},
		{"repositories", []byte("{}")},
	})
}

// ociArchive is `docker save` of Docker 25+: an OCI layout with a
// manifest.json; blob is the digest that is the image ID (the config in the
// classic store, the manifest or index with containerd).
func ociArchive(t *testing.T, config, blob string) []byte {
	entries := []tarEntry{
		{"blobs/sha256/" + digest("layer"), bytes.Repeat([]byte("L"), 3000)},
		{"blobs/sha256/" + config, []byte(`{"architecture":"amd64"}`)},
	}
	if blob != config {
		entries = append(entries, tarEntry{"blobs/sha256/" + blob, []byte(`{"schemaVersion":2}`)})
	}
	return tarOf(t, append(entries,
		tarEntry{"index.json", []byte(`{"schemaVersion":2}`)},
		tarEntry{"manifest.json", manifestJSON(t, "blobs/sha256/"+config, "blobs/sha256/"+digest("layer"))},
		tarEntry{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
	))
}

// TestVerifyImageArchive: an archive is used only when it is a complete
// docker save of the image ID; a truncated or foreign file is not.
func TestVerifyImageArchive(t *testing.T) {
	id := digest("agent")
	classic := classicArchive(t, id)
	entryEnd := len(tarOf(t, []tarEntry{{"aaaa/layer.tar", bytes.Repeat([]byte("L"), 3000)}})) - 1024 // cut after the first entry, no end marker
	for _, c := range []struct {
		name string
		data []byte
		want string // "" accepted
	}{
		{"classic", classic, ""},
		{"oci, classic store", ociArchive(t, id, id), ""},
		{"oci, containerd store", ociArchive(t, digest("config"), id), ""},
		{"half", classic[:len(classic)/2], "not a complete tar"},
		{"no end marker", classic[:len(classic)-1024], "end-of-archive marker"},
		{"cut at an entry", classic[:entryEnd], "end-of-archive marker"},
		{"other image", classicArchive(t, digest("other")), "not an archive of sha256:" + id},
		{"no manifest", tarOf(t, []tarEntry{{id + ".json", []byte("{}")}}), "no manifest.json"},
		{"missing layer", tarOf(t, []tarEntry{{id + ".json", []byte("{}")}, {"manifest.json", manifestJSON(t, id+".json", "gone/layer.tar")}}),
			`names "gone/layer.tar", which is not in the archive`},
		{"not a tar", []byte("image archive of claude-bottle/agent:latest\n"), "not a complete tar"},
		{"empty", nil, "end-of-archive marker"},
	} {
		err := verifyImageArchive(bytes.NewReader(c.data), "sha256:"+id)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// recordingFS is OSFS that logs Commit and Remove.
type recordingFS struct {
	OSFS
	log *[]string
}

func (f recordingFS) Commit(from, to string) error {
	*f.log = append(*f.log, "commit "+filepath.Base(from)+" "+filepath.Base(to))
	return f.OSFS.Commit(from, to)
}

func (f recordingFS) Remove(path string) error {
	*f.log = append(*f.log, "remove "+filepath.Base(path))
	return f.OSFS.Remove(path)
}

// cacheDocker answers docker save (writing a good archive of the image's
// ID), docker image ls (the IDs given) and fails on anything else.
func cacheDocker(t *testing.T, ids map[string]string, present []string) *shell.Recorder {
	return &shell.Recorder{Answer: func(_ int, c shell.Cmd) shell.Reply {
		switch a := strings.Join(c.Argv, " "); {
		case strings.HasPrefix(a, "docker save --output "):
			if err := os.WriteFile(c.Argv[3], classicArchive(t, ids[c.Argv[4]]), 0o644); err != nil {
				return shell.Reply{ExitCode: 1, Stderr: err.Error()}
			}
		case a == "docker image ls --all --quiet --no-trunc":
			var out strings.Builder
			for _, id := range present {
				out.WriteString("sha256:" + id + "\n")
			}
			return shell.Reply{Stdout: out.String()}
		default:
			t.Errorf("unexpected command %s", a)
			return shell.Reply{ExitCode: 1}
		}
		return shell.Reply{}
	}}
}

func newCache(dir string, r shell.Runner, fs HostFS) (imageCache, *test.Hook) {
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	return imageCache{dir: dir, fs: fs, r: r, log: log, now: time.Now}, hook
}

func argvs(r *shell.Recorder) []string {
	var out []string
	for _, c := range r.Calls() {
		out = append(out, strings.Join(c.Argv, " "))
	}
	return out
}

// TestImageCacheSaveReuseRepair: the first launch saves (the .part synced
// and renamed by Commit) and runs no prune command on a cache with nothing
// else; the next reuses the archive with no command; a truncated archive
// is discarded and saved again (found: nothing checked an archive).
func TestImageCacheSaveReuseRepair(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "images")
	id := digest("agent")
	ids := map[string]string{"claude-bottle/agent:latest": id}
	archive := filepath.Join(dir, "agent-"+id[:16]+".tar")
	ctx := context.Background()

	var fsLog []string
	r := cacheDocker(t, ids, nil)
	c, _ := newCache(dir, r, recordingFS{log: &fsLog})
	got, err := c.archive(ctx, "claude-bottle/agent:latest", "sha256:"+id, "b1", false)
	if err != nil || got != archive {
		t.Fatalf("archive = %q, %v; want %q", got, err, archive)
	}
	want := []string{"docker save --output " + archive + ".b1.part claude-bottle/agent:latest"}
	if a := argvs(r); strings.Join(a, "\n") != strings.Join(want, "\n") {
		t.Errorf("first save ran:\n%s\nwant:\n%s", strings.Join(a, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(fsLog, "\n") != "commit agent-"+id[:16]+".tar.b1.part agent-"+id[:16]+".tar" {
		t.Errorf("file operations: %q", fsLog)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("cache holds %d files, want the archive only", len(entries))
	}

	r = cacheDocker(t, ids, nil)
	c, _ = newCache(dir, r, OSFS{})
	if got, err := c.archive(ctx, "claude-bottle/agent:latest", "sha256:"+id, "b2", false); err != nil || got != archive || len(r.Calls()) != 0 {
		t.Errorf("reuse: %q, %v, commands %q", got, err, argvs(r))
	}

	b, _ := os.ReadFile(archive)
	if err := os.WriteFile(archive, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	r = cacheDocker(t, ids, nil)
	c, hook := newCache(dir, r, OSFS{})
	if got, err := c.archive(ctx, "claude-bottle/agent:latest", "sha256:"+id, "b3", false); err != nil || got != archive {
		t.Fatalf("repair: %q, %v", got, err)
	}
	if a := argvs(r); len(a) != 1 || !strings.HasPrefix(a[0], "docker save --output "+archive+".b3.part ") {
		t.Errorf("repair ran %q, want one docker save", a)
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.WarnLevel || !strings.Contains(e.Message, "is not a complete archive") {
		t.Errorf("repair logged %v", e)
	}
	if f, err := os.Open(archive); err != nil || verifyImageArchive(f, "sha256:"+id) != nil {
		t.Errorf("the archive was not saved again: %v", err)
	} else {
		f.Close()
	}
}

// TestImageCachePrune: after a save, archives of image IDs docker no
// longer has and .part files older than a day are removed; the archive in
// use, archives of images docker still has, a fresh .part (a concurrent
// save) and other files stay (found: the cache was never pruned, ≈340 MB
// per image ID).
func TestImageCachePrune(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kept, gone, now := digest("kept"), digest("gone"), digest("new")
	files := map[string]time.Duration{ // name -> age
		"agent-" + kept[:16] + ".tar":            0,
		"agent-" + gone[:16] + ".tar":            0,
		"agent-" + gone[:16] + ".tar.old.part":   48 * time.Hour,
		"agent-" + kept[:16] + ".tar.other.part": time.Minute,
		"notes.txt":                              48 * time.Hour,
	}
	for name, age := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		os.Chtimes(p, when, when)
	}
	r := cacheDocker(t, map[string]string{"img": now}, []string{kept, now, digest("unrelated")})
	c, _ := newCache(dir, r, OSFS{})
	if _, err := c.archive(context.Background(), "img", "sha256:"+now, "b", false); err != nil {
		t.Fatal(err)
	}
	if a := argvs(r); len(a) != 2 || a[1] != "docker image ls --all --quiet --no-trunc" {
		t.Errorf("commands %q, want the save and one docker image ls", a)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{"agent-" + kept[:16] + ".tar", "agent-" + kept[:16] + ".tar.other.part", "agent-" + now[:16] + ".tar", "notes.txt"}
	sort.Strings(want)
	if strings.Join(left, " ") != strings.Join(want, " ") {
		t.Errorf("left in the cache:\n%q\nwant:\n%q", left, want)
	}

	// Output docker image ls should not print stops the prune: nothing removed.
	os.WriteFile(filepath.Join(dir, "agent-"+gone[:16]+".tar"), []byte("x"), 0o644)
	os.Remove(filepath.Join(dir, "agent-"+now[:16]+".tar"))
	r = &shell.Recorder{Answer: func(_ int, c shell.Cmd) shell.Reply {
		if c.Argv[1] == "save" {
			os.WriteFile(c.Argv[3], classicArchive(t, now), 0o644)
			return shell.Reply{}
		}
		return shell.Reply{Stdout: "sha256:" + kept + "\nWARNING: something\n"}
	}}
	c, hook := newCache(dir, r, OSFS{})
	if _, err := c.archive(context.Background(), "img", "sha256:"+now, "b", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "agent-"+gone[:16]+".tar")); err != nil {
		t.Errorf("an unreadable image list removed an archive: %v", err)
	}
	if e := hook.LastEntry(); e == nil || !strings.Contains(e.Message, "not pruned: unexpected line") {
		t.Errorf("logged %v", e)
	}
}

// TestImageCacheFailedSave: a save that fails leaves neither the archive
// nor its .part behind.
func TestImageCacheFailedSave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "images")
	r := &shell.Recorder{Answer: func(_ int, c shell.Cmd) shell.Reply {
		os.WriteFile(c.Argv[3], []byte("half an archive"), 0o644)
		return shell.Reply{ExitCode: 1, Stderr: "no space left on device"}
	}}
	c, _ := newCache(dir, r, OSFS{})
	if _, err := c.archive(context.Background(), "img", "sha256:"+digest("x"), "b", false); err == nil {
		t.Fatal("a failed save succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestCommit: OSFS.Commit gives the file its name with its content.
func TestCommit(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "a.part"), filepath.Join(dir, "a")
	if err := os.WriteFile(from, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := (OSFS{}).Commit(from, to); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(to); err != nil || string(b) != "data" {
		t.Errorf("%q, %v", b, err)
	}
	if _, err := os.Stat(from); !os.IsNotExist(err) {
		t.Errorf("the .part is still there: %v", err)
	}
	if err := (OSFS{}).Commit(filepath.Join(dir, "none"), to); err == nil {
		t.Error("Commit of a missing file succeeded")
	}
}
