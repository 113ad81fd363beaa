package display

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestVisible(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "pypi.org needs a token", "pypi.org needs a token"},
		{"empty", "", ""},
		{"erase screen", "\x1b[2J\x1b[Happroved", `\x1b[2J\x1b[Happroved`},
		{"window title (OSC, BEL)", "\x1b]0;sudo\a", `\x1b]0;sudo\a`},
		{"C1 CSI", "\u009b2J", `\u009b2J`},
		{"C1 OSC", "\u009d0;x\u009c", `\u009d0;x\u009c`},
		{"bidi override", "evil\u202egro.ipyp", `evil\u202egro.ipyp`},
		{"bidi isolate", "a\u2066b\u2069", `a\u2066b\u2069`},
		{"line separator", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"zero-width joiner and space", "pypi\u200d.org\u200b", `pypi\u200d.org\u200b`},
		{"byte order mark", "\ufeffx", `\ufeffx`},
		{"no-break space", "a\u00a0b", `a\u00a0b`},
		{"ideographic space", "a\u3000b", `a\u3000b`},
		{"tab newline return", "a\tb\nc\rd", `a\tb\nc\rd`},
		{"NUL and DEL", "a\x00b\x7f", `a\x00b\x7f`},
		{"invalid UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"surrogate half (CESU)", "\xed\xa0\x80", `\xed\xa0\x80`},
		{"private use", "\ue000", `\ue000`},
		{"above the BMP, unassigned", "\U000e0001", `\U000e0001`},
		{"kept: backslash, quotes", `C:\dir "x" 'y'`, `C:\dir "x" 'y'`},
		{"kept: letters of other scripts, emoji", "größe 日本 😀 é", "größe 日本 😀 é"},
		{"kept: replacement character", "\ufffd", "\ufffd"},
	} {
		if got := Visible(c.in); got != c.want {
			t.Errorf("%s: Visible(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func FuzzVisible(f *testing.F) {
	for _, s := range []string{"", "a b", "\x1b[2J", "\u009b", "\u202e", "\xff\xfe", "日本\u200d", `\x41"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Visible(s)
		checkVisible(t, got)
		if strings.ContainsAny(s, `\"`) {
			return
		}
		// Without backslashes and quotes in s, the output is exactly what
		// a Go string literal of s holds between its quotes.
		if back, err := strconv.Unquote(`"` + got + `"`); err != nil || back != s {
			t.Errorf("Unquote(Visible(%q)) = %q, %v", s, back, err)
		}
	})
}

// checkVisible fails unless s is valid UTF-8 of printable runes only.
func checkVisible(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%q is not valid UTF-8", s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			t.Fatalf("%q holds %U", s, r)
		}
	}
}
