// Package fake holds stand-ins for the docker, smolvm and kubectl programs, used by
// the golden tests. They log every call, keep the state of the resources
// they were asked to create, answer queries from that state, let a script
// override any answer, and reject what the real programs reject (smolvm's
// contract as written down in shared/reference/smolvm-cli.md, version 1.9.2).
//
// Environment:
//
//	FAKE_DIR   directory of the state (fake-state.json), the call log
//	           (calls.log) and the script's answers (fake.answers)
//
// fake.answers overrides answers. Blocks start with "match PREFIX" (the
// quoted command line must start with PREFIX) followed by any of
// "stdout TEXT", "stderr TEXT", "exit N", "block" (sleep until killed).
// The first matching block wins; an overridden command changes no state.
// "delay DURATION" alone only delays: the command then runs as usual.
package fake

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/shell"
)

// Proc is one invocation of a stand-in.
type Proc struct {
	Args   []string // without the program name
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Dir    string
	Env    func(string) (string, bool)
}

// State is what the stand-ins remember between calls.
type State struct {
	Networks   map[string]*Network   `json:"networks"`
	Containers map[string]*Container `json:"containers"`
	Machines   map[string]*Machine   `json:"machines"`
	// Kube is kubectl's clusters, by --context ("" for the current one).
	Kube     map[string]*KubeCluster `json:"kube,omitempty"`
	NextPort int                     `json:"next_port"`
	Clock    int64                   `json:"clock"`

	// after runs once the state is saved and the lock released.
	after func() int
}

// Run executes a stand-in (prog "docker", "smolvm" or "kubectl") and returns its exit code.
func Run(prog string, p *Proc) int {
	lock, err := os.OpenFile(filepath.Join(p.Dir, "fake.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		fmt.Fprintf(p.Stderr, "fake %s: %v\n", prog, err)
		return 1
	}
	defer lock.Close()
	syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
	line := shell.Join(append([]string{prog}, p.Args...))
	logf(p.Dir, "%s\n", strings.ReplaceAll(line, p.Dir, "$WORK"))
	if ans, ok := findAnswer(p.Dir, line); ok {
		syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		if !ans.delayOnly() {
			return ans.play(p)
		}
		time.Sleep(ans.delay) // other calls go on meanwhile
		syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
	}
	st, err := load(p.Dir)
	if err != nil {
		fmt.Fprintf(p.Stderr, "fake %s: %v\n", prog, err)
		return 1
	}
	st.Clock++
	var code int
	switch prog {
	case "docker":
		code = st.docker(p)
	case "smolvm":
		code = st.smolvm(p)
	case "kubectl":
		code = st.kubectl(p)
	default:
		fmt.Fprintf(p.Stderr, "fake: unknown program %s\n", prog)
		return 1
	}
	if err := st.save(p.Dir); err != nil {
		fmt.Fprintf(p.Stderr, "fake %s: %v\n", prog, err)
		return 1
	}
	if st.after != nil && code == 0 {
		syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		return st.after()
	}
	return code
}

func logf(dir, format string, a ...any) {
	f, err := os.OpenFile(filepath.Join(dir, "calls.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, format, a...)
}

func load(dir string) (*State, error) {
	st := &State{Networks: map[string]*Network{}, Containers: map[string]*Container{},
		Machines: map[string]*Machine{}, NextPort: 32768}
	b, err := os.ReadFile(filepath.Join(dir, "fake-state.json"))
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	return st, json.Unmarshal(b, st)
}

func (st *State) save(dir string) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "fake-state.json"), b, 0o644)
}

// Leftovers lists the resources in dir's state, one per line, sorted.
func Leftovers(dir string) (string, error) {
	st, err := load(dir)
	if err != nil {
		return "", err
	}
	var out []string
	for _, n := range st.Networks {
		out = append(out, "network "+n.Name)
	}
	for n := range st.Containers {
		out = append(out, "container "+n)
	}
	for n := range st.Machines {
		out = append(out, "machine "+n)
	}
	for ctx, cl := range st.Kube {
		for n := range cl.Namespaces {
			if ctx != "" {
				n += " (context " + ctx + ")"
			}
			out = append(out, "namespace "+n)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "", nil
	}
	return strings.Join(out, "\n") + "\n", nil
}

type answer struct {
	stdout, stderr []string
	exit           int
	block          bool
	delay          time.Duration
}

func (a answer) delayOnly() bool {
	return a.delay > 0 && a.stdout == nil && a.stderr == nil && a.exit == 0 && !a.block
}

func (a answer) play(p *Proc) int {
	for _, l := range a.stdout {
		fmt.Fprintln(p.Stdout, l)
	}
	for _, l := range a.stderr {
		fmt.Fprintln(p.Stderr, l)
	}
	if a.block {
		for {
			time.Sleep(time.Hour)
		}
	}
	return a.exit
}

// findAnswer reads fake.answers for the first block matching line.
func findAnswer(dir, line string) (answer, bool) {
	f, err := os.Open(filepath.Join(dir, "fake.answers"))
	if err != nil {
		return answer{}, false
	}
	defer f.Close()
	var cur *answer
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kw, rest, _ := strings.Cut(sc.Text(), " ")
		switch kw {
		case "match":
			if cur != nil {
				return *cur, true
			}
			if strings.HasPrefix(line, rest) {
				cur = &answer{}
			}
		case "stdout":
			if cur != nil {
				cur.stdout = append(cur.stdout, rest)
			}
		case "stderr":
			if cur != nil {
				cur.stderr = append(cur.stderr, rest)
			}
		case "exit":
			if cur != nil {
				cur.exit, _ = strconv.Atoi(rest)
			}
		case "block":
			if cur != nil {
				cur.block = true
			}
		case "delay":
			if cur != nil {
				cur.delay, _ = time.ParseDuration(rest)
			}
		}
	}
	if cur != nil {
		return *cur, true
	}
	return answer{}, false
}

// usage is a usage error: exit 2, like the real programs' parsers.
func usage(p *Proc, prog, format string, a ...any) int {
	fmt.Fprintf(p.Stderr, "%s: %s\n", prog, fmt.Sprintf(format, a...))
	return 2
}
