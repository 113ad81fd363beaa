package launch

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/shell"
)

// agentImage returns what `machine create --image` gets. A local archive is
// used as it is. A docker image is saved to an archive once per image ID:
// smolvm would pull a registry reference inside the guest, under the egress
// policy, which allows no registry.
func (b smolBackend) agentImage(ctx context.Context, s *session) (string, error) {
	img := s.p.AgentImage
	if isLocalImage(img) || s.CacheDir == "" {
		return img, nil
	}
	var archive string
	err := s.step("save agent image", func() error {
		var id strings.Builder
		err := s.R.Run(ctx, shell.Cmd{Argv: []string{"docker", "image", "inspect", "--format", "{{.Id}}", img},
			Stdout: &id, Note: []string{alongside}})
		if err != nil {
			return err
		}
		c := imageCache{dir: filepath.Join(s.CacheDir, "images"), fs: s.FS, r: s.R, log: s.Log, now: s.Now}
		archive, err = c.archive(ctx, img, strings.TrimSpace(id.String()), s.p.Bottle, s.p.DryRun)
		return err
	})
	return archive, err
}

// imageCache is the directory of agent image archives for smolvm, one per
// image ID (≈340 MB each).
type imageCache struct {
	dir string
	fs  HostFS
	r   shell.Runner
	log logrus.FieldLogger
	now func() time.Time
}

// staleSave is the age after which a .part file is a save that died: a
// save takes seconds to minutes.
const staleSave = 24 * time.Hour

var (
	archiveNameRE = regexp.MustCompile(`^agent-([0-9a-f]{16})\.tar$`)
	partNameRE    = regexp.MustCompile(`^agent-[0-9a-f]{16}\.tar\..+\.part$`)
)

// archive returns the cache's archive of img, whose ID is id. An archive
// is checked before use (verifyImageArchive); a missing or damaged one is
// saved (again), after which the cache is pruned.
func (c imageCache) archive(ctx context.Context, img, id, bottle string, dryRun bool) (string, error) {
	file, err := imageFile(id, dryRun)
	if err != nil {
		return "", err
	}
	archive := filepath.Join(c.dir, file)
	switch err := c.verify(archive, id); {
	case err == nil:
		return archive, nil
	case !errors.Is(err, fs.ErrNotExist):
		c.log.Warnf("image cache: %s is not a complete archive of %s (%v); saving it again", archive, img, err)
		if err := c.fs.Remove(archive); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("remove the damaged %s: %w", archive, err)
		}
	}
	if err := c.save(ctx, img, archive, bottle); err != nil {
		return "", err
	}
	c.prune(ctx, file)
	return archive, nil
}

func (c imageCache) verify(archive, id string) error {
	f, err := c.fs.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	return verifyImageArchive(f, id)
}

// save runs docker save into a file of this launch's own and gives it the
// archive's name only once complete and synced: an interrupted save never
// becomes the cache, and concurrent launches never share a file.
func (c imageCache) save(ctx context.Context, img, archive, bottle string) error {
	if err := c.fs.MkdirAll(c.dir); err != nil {
		return err
	}
	part := archive + "." + bottle + ".part"
	save := shell.Cmd{Argv: []string{"docker", "save", "--output", part, img},
		Note: []string{"agent image archive for smolvm, saved once per image ID, renamed to " + filepath.Base(archive) + " when complete"}}
	if err := c.r.Run(ctx, save); err != nil {
		c.fs.Remove(part) // best effort: an old .part is pruned later anyway
		return err
	}
	return c.fs.Commit(part, archive)
}

// prune runs after a save: it removes the archives of image IDs docker no
// longer has and the .part files of saves that died (older than
// staleSave). The archive in use (keep) and those of images docker still
// has stay. It costs one command, `docker image ls`, and only when the
// cache holds other archives; a failure is a warning, never the launch's.
func (c imageCache) prune(ctx context.Context, keep string) {
	entries, err := c.fs.List(c.dir)
	if err != nil {
		c.log.Warnf("image cache: not pruned: %v", err)
		return
	}
	var others []string
	for _, fi := range entries {
		name := fi.Name()
		switch {
		case name == keep:
		case archiveNameRE.MatchString(name):
			others = append(others, name)
		case partNameRE.MatchString(name) && c.now().Sub(fi.ModTime()) > staleSave:
			c.remove(name, "a save that never completed")
		}
	}
	if len(others) == 0 {
		return
	}
	out, err := shell.Output(ctx, c.r, "docker", "image", "ls", "--all", "--quiet", "--no-trunc")
	if err != nil {
		c.log.Warnf("image cache: not pruned: %v", err)
		return
	}
	present, err := imageIDPrefixes(out)
	if err != nil {
		c.log.Warnf("image cache: not pruned: %v", err)
		return
	}
	for _, name := range others {
		if hex := archiveNameRE.FindStringSubmatch(name)[1]; !present[hex] {
			c.remove(name, "image "+hex+" is no longer in docker")
		}
	}
}

func (c imageCache) remove(name, why string) {
	if err := c.fs.Remove(filepath.Join(c.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.log.Warnf("image cache: remove %s: %v", name, err)
		return
	}
	c.log.Infof("image cache: removed %s (%s)", name, why)
}

// imageIDPrefixes reads `docker image ls --quiet --no-trunc`: one
// sha256:HEX per line. It returns each ID's first 16 hex digits, as the
// archives are named. A line of another form stops the prune: better keep
// every archive than remove one docker still has.
func imageIDPrefixes(out string) (map[string]bool, error) {
	ids := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		hex, ok := strings.CutPrefix(line, "sha256:")
		if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("unexpected line %q from docker image ls", line)
		}
		ids[hex[:16]] = true
	}
	return ids, nil
}

// verifyImageArchive checks that r is a complete `docker save` archive of
// the image id: a tar that reads to its end-of-archive marker (a file cut
// short fails), whose manifest.json names at least one image, each with a
// config and layers that are all in the archive, and that holds the image
// itself: the config of that digest (the ID of docker's classic store) or a
// blob of it (the containerd store's ID is the manifest's or the index's).
// Entries are skipped by seeking, so checking 340 MB reads little of it.
func verifyImageArchive(r io.ReadSeeker, id string) error {
	hex, ok := strings.CutPrefix(id, "sha256:")
	if !ok || len(hex) != 64 {
		return fmt.Errorf("unexpected image ID %q", id)
	}
	zr := &zeroTail{r: r}
	tr := tar.NewReader(zr)
	names := map[string]bool{}
	var manifest []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("not a complete tar: %w", err)
		}
		names[path.Clean(h.Name)] = true
		if path.Clean(h.Name) == "manifest.json" {
			if manifest, err = io.ReadAll(io.LimitReader(tr, 1<<20)); err != nil {
				return fmt.Errorf("not a complete tar: %w", err)
			}
		}
	}
	if zr.zeros < 2*512 {
		return errors.New("not a complete tar: it ends without the end-of-archive marker")
	}
	if manifest == nil {
		return errors.New("no manifest.json")
	}
	var images []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(manifest, &images); err != nil || len(images) == 0 {
		return fmt.Errorf("manifest.json names no image (%v)", err)
	}
	for _, img := range images {
		for _, f := range append([]string{img.Config}, img.Layers...) {
			if f == "" || !names[path.Clean(f)] {
				return fmt.Errorf("manifest.json names %q, which is not in the archive", f)
			}
		}
	}
	if !names[hex+".json"] && !names["blobs/sha256/"+hex] {
		return fmt.Errorf("not an archive of %s", id)
	}
	return nil
}

// zeroTail counts the zero bytes at the end of what was read through it
// (a seek starts the count again): a tar that ends with its two zero
// blocks read them last, one cut at an entry's end did not.
type zeroTail struct {
	r     io.ReadSeeker
	zeros int
}

func (z *zeroTail) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	for _, b := range p[:n] {
		if b == 0 {
			z.zeros++
		} else {
			z.zeros = 0
		}
	}
	return n, err
}

func (z *zeroTail) Seek(offset int64, whence int) (int64, error) {
	if offset != 0 || whence != io.SeekCurrent {
		z.zeros = 0
	}
	return z.r.Seek(offset, whence)
}

// imageFile names an image archive after the image ID.
func imageFile(id string, dryRun bool) (string, error) {
	hex, ok := strings.CutPrefix(strings.TrimSpace(id), "sha256:")
	switch {
	case !ok && dryRun:
		hex = "IMAGE-ID"
	case !ok || len(hex) < 16:
		return "", fmt.Errorf("unexpected image ID %q", id)
	default:
		hex = hex[:16]
	}
	return "agent-" + hex + ".tar", nil
}
