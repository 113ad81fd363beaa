package sidecar

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/claude-bottle/claude-bottle/bundle"
)

// Each daemon runs as a user of its own (the bundle image creates them), so
// a foothold in one is not the others' secrets: the CA key is pipelock's
// alone, the SSH keys git-gate's, the model credential and egress's key
// egress's, and supervise cannot record a decision
// (its decisions directory is root's). The init stays root to hand out the
// files; a process that setuids away from root keeps no capabilities, and
// the container runs with no-new-privileges (issue 10, finding 13).

// daemonUsers names each daemon's user.
var daemonUsers = map[string]string{
	bundle.Pipelock:  "pipelock",
	bundle.GitGate:   "git-gate",
	bundle.Supervise: "supervise",
	bundle.Egress:    "egress",
}

// account is a user a daemon runs as.
type account struct {
	name     string
	uid, gid int
}

func (a *account) credential() *syscall.Credential {
	return &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: []uint32{}}
}

// accounts maps a daemon to its user; nil (tests, not root) runs every
// daemon as the init's own user.
type accounts map[string]*account

// lookupAccounts finds the daemons' users in the bundle image. A bundle
// image without them is refused: its daemons would all run as root.
func lookupAccounts() (accounts, error) {
	out := accounts{}
	for daemon, name := range daemonUsers {
		u, err := user.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("daemon users: %s's user %s: %w (rebuild the bundle image: claude-bottle images build)", daemon, name, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if uid == 0 {
			return nil, fmt.Errorf("daemon users: %s is root", name)
		}
		out[daemon] = &account{name: name, uid: uid, gid: gid}
	}
	return out, nil
}

// owned is one path handed to a daemon's user (or kept by root).
type owned struct {
	path  string
	owner string // daemon name, "" for root
	mode  fs.FileMode
	tree  bool // the whole tree (dirs keep mode|0o100 for search)
}

// handOut gives each path to its owner with its mode. Without accounts it
// only sets the modes.
func (as accounts) handOut(items []owned) error {
	for _, it := range items {
		uid, gid := 0, 0
		if a := as[it.owner]; a != nil {
			uid, gid = a.uid, a.gid
		}
		walk := func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type()&fs.ModeSymlink != 0 {
				return nil // never follow a link out of the tree
			}
			if as != nil {
				if err := os.Lchown(path, uid, gid); err != nil {
					return err
				}
			}
			if path == it.path || !it.tree {
				return os.Chmod(path, it.mode)
			}
			return nil
		}
		var err error
		if it.tree {
			err = filepath.WalkDir(it.path, walk)
		} else {
			var fi os.FileInfo
			if fi, err = os.Lstat(it.path); err == nil {
				err = walk(it.path, fs.FileInfoToDirEntry(fi), nil)
			}
		}
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("hand %s to %s: %w", it.path, ownerName(it.owner), err)
		}
	}
	return nil
}

func ownerName(daemon string) string {
	if u, ok := daemonUsers[daemon]; ok {
		return u
	}
	return "root"
}
