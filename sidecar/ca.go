package sidecar

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ensureCA creates pipelock's CA (`pipelock tls init`) unless the launch
// placed one (bundle.CAs) or an earlier start of this bundle made it: the
// guest trusts the CA that is there. The certificate is made world-
// readable; the key stays 0600 (handed to pipelock).
func (c initConfig) ensureCA(ctx context.Context) error {
	if fileExists(c.caCert()) && fileExists(c.caKey()) {
		c.log.Infof("keeping pipelock CA %s", c.caCert())
		return c.caModes()
	}
	for _, f := range []string{c.caCert(), c.caKey()} { // a half-made CA from a crash
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("create pipelock CA: %w", err)
		}
	}
	argv := []string{c.pipelock, "tls", "init", "--out", c.caDir()}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = stripProxyEnv(c.env)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("create pipelock CA: %s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(out.String()))
	}
	c.log.Infof("created pipelock CA %s", c.caCert())
	return c.caModes()
}

// caModes opens the CA directory and certificate to everyone and keeps the
// key to root (pipelock writes both 0600 in a 0750 directory).
func (c initConfig) caModes() error {
	for f, mode := range map[string]os.FileMode{c.caDir(): 0o755, c.caCert(): 0o644, c.caKey(): 0o600} {
		if err := os.Chmod(f, mode); err != nil {
			return fmt.Errorf("pipelock CA modes: %w", err)
		}
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
