// Command pipelock is a TEST-ONLY stand-in for pipelock
// (github.com/luckyPipewrench/pipelock), for machines that cannot pull its
// image. It accepts the command lines claude-bottle's bundle uses:
//
//	pipelock run [--config FILE] [--listen ADDR] [--mode strict|balanced|audit]
//	pipelock tls init [--out DIR] [--org ORG] [--validity DUR] [--force]
//	pipelock tls show-ca [--cert FILE]
//	pipelock healthcheck [--addr HOST:PORT]
//	pipelock version
//
// and behaves like pipelock where claude-bottle depends on it: strict-mode
// allowlist (HTTP 403 "blocked: domain not in allowlist: <host>"), the SSRF
// guard on resolved addresses with trusted_domains and ssrf.ip_allowlist as
// exemptions (ssrf.go), CONNECT and absolute-form forward proxy, TLS
// interception with the configured ECDSA CA except for passthrough domains,
// /health, strict config keys, reload on SIGHUP or when the file changes,
// refused when it downgrades a strict config (reload.go). Each rule cites
// pipelock's source at 408651293d. It is never part of a shipped image.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

const version = "2.3.0-claude-bottle-standin"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: pipelock run [--config FILE] [--listen ADDR] [--mode M] | tls init [--out DIR] [--force] | tls show-ca [--cert FILE] | healthcheck [--addr ADDR] | version")
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 1
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(args[1:], stderr)
	case "tls":
		if len(args) < 2 {
			usage(stderr)
			return 1
		}
		switch args[1] {
		case "init":
			err = cmdTLSInit(args[2:], stdout)
		case "show-ca":
			err = cmdShowCA(args[2:], stdout)
		default:
			err = fmt.Errorf("unknown command %q for \"pipelock tls\"", args[1])
		}
	case "healthcheck":
		err = cmdHealthcheck(args[1:], stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "pipelock", version)
	case "help", "--help", "-h":
		usage(stdout)
	default:
		err = fmt.Errorf("unknown command %q for \"pipelock\"", args[0])
	}
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	return 0
}

func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func cmdRun(args []string, stderr io.Writer) error {
	fs := flags("run")
	config := fs.String("config", "", "config file")
	listen := fs.String("listen", "", "listen address (overrides fetch_proxy.listen)")
	mode := fs.String("mode", "", "strict|balanced|audit (overrides mode)")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch *mode {
	case "", "strict", "balanced", "audit":
	default:
		return fmt.Errorf("invalid mode %q", *mode)
	}
	logger := log.New(stderr, "pipelock-standin: ", log.LstdFlags)
	p, err := NewProxy(*config, *listen, *mode, logger)
	if err != nil {
		return err
	}
	st := p.cur.Load()
	ln, err := net.Listen("tcp", st.cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 60 * time.Second, ErrorLog: logger}
	logger.Printf("%s listening on %s: %s", version, ln.Addr(), st.cfg.describe())

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-serveErr:
			if errIsClosed(err) {
				return nil
			}
			return err
		case <-tick.C:
			if p.changed() {
				time.Sleep(100 * time.Millisecond) // debounce, like pipelock
				p.Reload("file changed")
			}
		case s := <-sigs:
			if s == syscall.SIGHUP {
				p.Reload("SIGHUP")
				continue
			}
			logger.Printf("%s: shutting down", s)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			srv.Shutdown(ctx)
			cancel()
			return nil
		}
	}
}

func cmdTLSInit(args []string, stdout io.Writer) error {
	fs := flags("tls init")
	out := fs.String("out", "", "output directory")
	org := fs.String("org", "Pipelock", "organization")
	validity := fs.String("validity", "87600h", "validity")
	force := fs.Bool("force", false, "overwrite")
	if err := parse(fs, args); err != nil {
		return err
	}
	dur, err := time.ParseDuration(*validity)
	if err != nil {
		return fmt.Errorf("invalid validity: %w", err)
	}
	dir := *out
	if dir == "" {
		dir = os.Getenv("PIPELOCK_HOME")
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("resolve default path: %w", err)
		}
		dir = filepath.Join(home, ".pipelock")
	}
	cert, key, err := GenerateCA(*org, dur)
	if err != nil {
		return fmt.Errorf("generate CA: %w", err)
	}
	certPath, keyPath, err := SaveCA(dir, cert, key, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "CA certificate: %s\nCA private key: %s\n", certPath, keyPath)
	return nil
}

func cmdShowCA(args []string, stdout io.Writer) error {
	fs := flags("tls show-ca")
	certPath := fs.String("cert", "", "CA certificate")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *certPath == "" {
		home, _ := os.UserHomeDir()
		*certPath = filepath.Join(home, ".pipelock", "ca.pem")
	}
	b, err := os.ReadFile(*certPath)
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}

func cmdHealthcheck(args []string, stdout io.Writer) error {
	fs := flags("healthcheck")
	addr := fs.String("addr", "127.0.0.1:8888", "proxy address")
	if err := parse(fs, args); err != nil {
		return err
	}
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Get("http://" + *addr + "/health")
	if err != nil {
		return fmt.Errorf("health check failed: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check failed: status %d", resp.StatusCode)
	}
	fmt.Fprintln(stdout, "healthy")
	return nil
}
