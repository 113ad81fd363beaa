package shell

import (
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/google/shlex"
)

func TestQuote(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "''"},
		{"plain", "plain"},
		{"127.0.0.1::8888", "127.0.0.1::8888"},
		{"a b", "'a b'"},
		{"it's", `'it'"'"'s'`},
		{"$HOME", "'$HOME'"},
		{"line\nbreak", "'line\nbreak'"},
		{"-n", "-n"},
		{"--allow-cidr=1.2.3.4/32", "--allow-cidr=1.2.3.4/32"},
		{"*", "'*'"},
		{"a;b", "'a;b'"},
		{`back\slash`, `'back\slash'`},
	}
	for _, c := range cases {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestJoinRoundTrip(t *testing.T) {
	argvs := [][]string{
		{"docker", "run", "-p", "127.0.0.1::8888", "img"},
		{"sh", "-c", `exec claude "$@" "$(cat /home/node/p)"`, "claude", "--", "-p", "it's"},
		{"echo", "", "  ", "a\tb", "é", "#not-a-comment"},
	}
	for _, argv := range argvs {
		got, err := shlex.Split(Join(argv))
		if err != nil {
			t.Fatalf("shlex.Split(%s): %v", Join(argv), err)
		}
		if !reflect.DeepEqual(got, argv) {
			t.Errorf("round trip of %q gave %q via %s", argv, got, Join(argv))
		}
	}
}

// FuzzQuoteRoundTrip checks that shlex splits a quoted word back into itself.
// shlex reads runes, turning invalid UTF-8 into U+FFFD where a POSIX shell
// keeps the bytes, so the oracle only judges valid UTF-8.
func FuzzQuoteRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a", "it's", "$x", "a b", "\n", "-", "'\"'\"'", `\`, "#", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip("shlex cannot represent invalid UTF-8")
		}
		got, err := shlex.Split(Quote(s) + " end")
		if err != nil {
			t.Fatalf("shlex.Split(%s): %v", Quote(s), err)
		}
		if len(got) != 2 || got[0] != s || got[1] != "end" {
			t.Fatalf("Quote(%q) = %s split back into %q", s, Quote(s), got)
		}
	})
}
