package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/claude-bottle/claude-bottle/internal/fake"
)

// TestMain registers the CLI and the docker, smolvm and kubectl stand-ins as
// programs the scripts run.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"claude-bottle": func() { os.Exit(runProcess(os.Args, goldenDeps())) },
		"docker":        func() { os.Exit(fake.Run("docker", stdProc())) },
		"smolvm":        func() { os.Exit(fake.Run("smolvm", stdProc())) },
		"kubectl":       func() { os.Exit(fake.Run("kubectl", stdProc())) },
	})
}

// goldenDeps are a process's deps with what a golden transcript needs to be
// the same on every run: the launch's steps one after the other, fixed CAs,
// a clock that stands still (every step takes 0s).
func goldenDeps() *deps {
	d := processDeps(os.Stdin, os.Stdout, os.Stderr, os.Environ())
	d.serial, d.cas = true, fake.TestCAs
	d.now = func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }
	return d
}

func stdProc() *fake.Proc {
	return &fake.Proc{Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Dir: os.Getenv("FAKE_DIR"), Env: os.LookupEnv}
}

func params(dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("UPDATE_GOLDEN") != "",
		Setup: func(e *testscript.Env) error {
			e.Setenv("FAKE_DIR", e.WorkDir)
			e.Setenv("HOME", e.WorkDir+"/home")
			e.Setenv("XDG_CACHE_HOME", e.WorkDir+"/cache")
			// testscript starts from an empty environment: no CLAUDE_BOTTLE_*,
			// no secrets, no DOCKER_HOST leak in from the host.
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"leftovers": cmdLeftovers,
			"staticelf": cmdStaticELF,
		},
	}
}

// cmdLeftovers prints the resources the stand-ins still hold; with no
// resources it prints nothing. "leftovers" fails if any are left,
// "! leftovers" fails if none are.
func cmdLeftovers(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 0 {
		ts.Fatalf("usage: leftovers")
	}
	out, err := fake.Leftovers(ts.Getenv("FAKE_DIR"))
	ts.Check(err)
	fmt.Fprint(ts.Stdout(), out)
	if (out != "") != neg {
		ts.Fatalf("leftovers:\n%s", out)
	}
}

// cmdStaticELF writes a minimal static linux ELF executable (one PT_LOAD
// segment, no interpreter): images build takes no dynamic binary, and the
// test binary is one when cgo is on.
func cmdStaticELF(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: staticelf FILE")
	}
	le := binary.LittleEndian
	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // 64-bit, little endian, SysV
	for _, v := range []any{uint16(elf.ET_EXEC), uint16(elf.EM_X86_64), uint32(1), uint64(0x401000), uint64(64), uint64(0),
		uint32(0), uint16(64), uint16(56), uint16(1), uint16(64), uint16(0), uint16(0),
		uint32(elf.PT_LOAD), uint32(elf.PF_R), uint64(0), uint64(0x400000), uint64(0x400000), uint64(120), uint64(120), uint64(0x1000)} {
		binary.Write(&b, le, v)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b.Bytes(), 0o755))
}

func TestSmolmachines(t *testing.T) { testscript.Run(t, params("testscripts/smolmachines")) }
func TestDocker(t *testing.T)       { testscript.Run(t, params("testscripts/docker")) }
func TestCLI(t *testing.T)          { testscript.Run(t, params("testscripts/cli")) }
func TestKubernetes(t *testing.T)   { testscript.Run(t, params("testscripts/kubernetes")) }
