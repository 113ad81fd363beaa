package launch

import (
	"strconv"
	"strings"
	"testing"
)

func TestParsePortBinding(t *testing.T) {
	cases := []struct {
		out     string
		want    int
		wantErr string
	}{
		{"127.0.0.1:32768", 32768, ""},
		{"127.0.0.1:32768\n", 32768, ""},
		{"127.0.0.1:1", 1, ""},
		{"127.0.0.1:65535", 65535, ""},
		{"0.0.0.0:32768", 0, "127.0.0.1 only"},
		{"[::1]:32768", 0, "127.0.0.1 only"},
		{"127.0.0.1:32768\n[::1]:32768", 0, "want one loopback binding"},
		{"", 0, "want one loopback binding"},
		{"127.0.0.1:0", 0, "PORT in 1..65535"},
		{"127.0.0.1:65536", 0, "PORT in 1..65535"},
		{"127.0.0.1:080", 0, "PORT in 1..65535"},
		{"127.0.0.1:http", 0, "PORT in 1..65535"},
		{"127.0.0.1", 0, "want 127.0.0.1:PORT"},
		{"localhost:32768", 0, "127.0.0.1 only"},
	}
	for _, c := range cases {
		got, err := ParsePortBinding(c.out)
		if c.wantErr == "" {
			if err != nil || got != c.want {
				t.Errorf("ParsePortBinding(%q) = %d, %v; want %d", c.out, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), strconv.Quote(c.out)) {
			t.Errorf("ParsePortBinding(%q) = %d, %v; want error with %q quoting the output", c.out, got, err, c.wantErr)
		}
	}
}

// FuzzParsePortBinding: a port is returned only for exactly
// "127.0.0.1:<canonical port>" (plus trailing newlines), never anything else.
func FuzzParsePortBinding(f *testing.F) {
	for _, s := range []string{"127.0.0.1:32768", "0.0.0.0:1", "[::1]:2", "127.0.0.1:32768\n127.0.0.1:1", "", "127.0.0.1:-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		port, err := ParsePortBinding(out)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(out)) {
				t.Fatalf("error %v does not quote the output %q", err, out)
			}
			return
		}
		if port < 1 || port > 65535 {
			t.Fatalf("port %d out of range for %q", port, out)
		}
		if strings.TrimSpace(strings.TrimRight(out, "\n")) != "127.0.0.1:"+strconv.Itoa(port) {
			t.Fatalf("accepted %q as port %d", out, port)
		}
	})
}
