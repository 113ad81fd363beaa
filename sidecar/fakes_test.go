package sidecar

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fakePipelock plays pipelock: `tls init --out DIR` writes a CA as pipelock
// does (0600 files in a 0750 dir, refusing to overwrite); `run --config F`
// checks F exists and behaves as FAKE_PIPELOCK says (see fakeDaemon).
func fakePipelock(args []string) int {
	switch {
	case len(args) == 4 && args[0] == "tls" && args[1] == "init" && args[2] == "--out":
		return fakeTLSInit(args[3])
	case len(args) == 3 && args[0] == "run" && args[1] == "--config":
		if _, err := os.Stat(args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "fake pipelock:", err)
			return 2
		}
		return fakeDaemon("pipelock", os.Getenv("FAKE_PIPELOCK"))
	default:
		fmt.Fprintf(os.Stderr, "fake pipelock: unexpected args %q\n", args)
		return 2
	}
}

func fakeTLSInit(dir string) int {
	cert, key := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	if fileExists(cert) || fileExists(key) {
		fmt.Fprintln(os.Stderr, "CA cert already exists (use --force to overwrite)")
		return 1
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 10)
	for _, f := range []string{cert, key} {
		if err := os.WriteFile(f, []byte("fake "+filepath.Base(f)+" "+stamp+"\n"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// fakeDaemon is a daemon whose behaviour is a space-separated list of:
//
//	listen=ADDR   accept TCP connections on ADDR
//	delay=DUR     wait DUR before listening
//	exit=N        exit with status N ...
//	after=DUR     ... after DUR (default at once)
//	ignore-term   ignore SIGTERM
//	orphan        leave an orphan behind (`sh -c 'sleep 0.2 &'`)
//	env           print the proxy-related and FAKE_KEEP environment
//
// It prints "<name> up" on stdout and "<name> warming" on stderr first.
func fakeDaemon(name, behaviour string) int {
	opts := map[string]string{}
	for _, f := range strings.Fields(behaviour) {
		k, v, _ := strings.Cut(f, "=")
		opts[k] = v
	}
	if _, ok := opts["ignore-term"]; ok {
		signal.Ignore(syscall.SIGTERM)
	}
	fmt.Fprintln(os.Stderr, name+" warming")
	fmt.Println(name + " up")
	if _, ok := opts["env"]; ok {
		printEnv()
	}
	if _, ok := opts["orphan"]; ok {
		exec.Command("sh", "-c", "sleep 0.2 &").Run()
	}
	time.Sleep(duration(opts["delay"]))
	if addr := opts["listen"]; addr != "" {
		if err := acceptForever(addr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	if code, ok := opts["exit"]; ok {
		time.Sleep(duration(opts["after"]))
		n, _ := strconv.Atoi(code)
		return n
	}
	for {
		time.Sleep(time.Hour)
	}
}

func printEnv() {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.Contains(strings.ToUpper(name), "PROXY") || name == "FAKE_KEEP" {
			fmt.Println("env " + kv)
		}
	}
}

func acceptForever(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	return nil
}

func duration(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}
