package launch

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ParsePortBinding parses `docker port <c> <port>/tcp` output strictly: it
// must be exactly one line "127.0.0.1:<port>" with a port in 1..65535. The
// error quotes docker's output.
func ParsePortBinding(out string) (int, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 1 || lines[0] == "" {
		return 0, fmt.Errorf("want one loopback binding 127.0.0.1:PORT, docker port printed %q", out)
	}
	host, port, err := net.SplitHostPort(strings.TrimSpace(lines[0]))
	if err != nil {
		return 0, fmt.Errorf("want 127.0.0.1:PORT, docker port printed %q: %v", out, err)
	}
	if host != "127.0.0.1" {
		return 0, fmt.Errorf("want a binding on 127.0.0.1 only, docker port printed %q", out)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return 0, fmt.Errorf("want 127.0.0.1:PORT with PORT in 1..65535, docker port printed %q", out)
	}
	return n, nil
}
