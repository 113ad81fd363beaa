package provision

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// configCases are config files and what git reads from them, as
// section|subsection|key=value lines (key alone: no value).
var configCases = []struct {
	name, in string
	want     []string
}{
	{"plain", "[core]\n\tbare = false\n", []string{"core||bare=false"}},
	{"case", "[CoRe]\n\tFileMode = True\n", []string{"core||filemode=True"}},
	{"no value", "[core]\n\tbare\n", []string{"core||bare"}},
	{"quoted subsection keeps case and escapes", `[remote "Or\"ig\\in"]` + "\nurl = x\n",
		[]string{`remote|Or"ig\in|url=x`}},
	{"old dotted form is lower case", "[remote.Origin]\nurl = x\n", []string{"remote|origin|url=x"}},
	{"dotted and quoted", "[a.B \"C\"]\nk = v\n", []string{"a|b.C|k=v"}},
	{"comments", "# c\n; c\n[core] # c\n\tbare = false ; c\n\tx = a#b\n",
		[]string{"core||bare=false", "core||x=a"}},
	{"quotes keep comment characters and spaces", "[s]\nk = \" a # b ; c \"\n", []string{"s||k= a # b ; c "}},
	{"inner spaces kept, ends trimmed", "[s]\nk =   a \t b   \n", []string{"s||k=a   b"}},
	{"escapes", `[s]` + "\n" + `k = a\tb\nc\\d\"e` + "\n", []string{"s||k=a\tb\nc\\d\"e"}},
	{"continuation", "[s]\nk = ab\\\ncd\nj = 1\n", []string{"s||k=abcd", "s||j=1"}},
	{"continuation in quotes", "[s]\nk = \"ab\\\ncd\"\n", []string{"s||k=abcd"}},
	{"key on the header line", "[s] k = v\n", []string{"s||k=v"}},
	{"CRLF", "[s]\r\nk = v\r\n", []string{"s||k=v"}},
	{"BOM", "\xef\xbb\xbf[s]\nk = v\n", []string{"s||k=v"}},
	{"key before any section", "k = v\n[s]\nj\n", []string{"||k=v", "s||j"}},
	{"no final newline", "[s]\nk = v", []string{"s||k=v"}},
	{"two sections", "[a]\nk=1\n[b \"x\"]\nk=2\n", []string{"a||k=1", "b|x|k=2"}},
	{"a comment does not continue", "[s]\n# a \\\nk = v\n", []string{"s||k=v"}},
	{"bracket in a subsection", "[remote \"a]b\"]\nurl = x\n", []string{"remote|a]b|url=x"}},
	{"escaped newlines stay in the value", "[s]\nk = \"x\\n[credential]\\nhelper = evil\"\n",
		[]string{"s||k=x\n[credential]\nhelper = evil"}},
	{"comment right after a quote", "[s]\nk = \"a\"#\"b\"\n", []string{"s||k=a"}},
	{"half quoted", "[s]\nk = a\" b \"c\n", []string{"s||k=a b c"}},
	{"extraheader", "[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic dG9r\n",
		[]string{"http|https://github.com/|extraheader=AUTHORIZATION: basic dG9r"}},
}

func entryLines(es []configEntry) []string {
	var out []string
	for _, e := range es {
		l := e.Section + "|" + e.Subsection + "|" + e.Key
		if !e.NoValue {
			l += "=" + e.Value
		}
		out = append(out, l)
	}
	return out
}

func TestParseConfig(t *testing.T) {
	for _, c := range configCases {
		got, err := parseConfig([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if lines := entryLines(got); !reflect.DeepEqual(lines, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, lines, c.want)
		}
	}
}

// TestParseConfigAsGit: real git reads each case as parseConfig does.
func TestParseConfigAsGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	for _, c := range configCases {
		p := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(p, []byte(c.in), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("git", "config", "--file", p, "--list", "-z").Output()
		if err != nil {
			t.Errorf("%s: git config: %v", c.name, err)
			continue
		}
		var got []string
		for _, kv := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
			got = append(got, kv)
		}
		var want []string
		for _, w := range c.want {
			parts := strings.SplitN(w, "|", 3)
			name := parts[0] + "." + parts[2]
			switch {
			case parts[0] == "":
				name = parts[2]
			case parts[1] != "":
				name = parts[0] + "." + parts[1] + "." + parts[2]
			}
			want = append(want, strings.Replace(name, "=", "\n", 1))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: git reads %q, the parser %q", c.name, got, want)
		}
	}
}

func TestParseConfigRejects(t *testing.T) {
	for _, in := range []string{
		"[s\nk = v\n",       // unterminated header
		"[s \"x]\nk = v\n",  // unterminated subsection
		"[s \"x\" ]\n",      // junk after the subsection
		"[s x]\n",           // unquoted subsection
		"[]\n",              // empty section
		"[s!]\n",            // bad character
		"[s]\nk = \"open\n", // unterminated quote
		"[s]\nk = a\\qb\n",  // unknown escape
		"[s]\nk v\n",        // no '='
		"[s]\n1k = v\n",     // key not starting with a letter
		"[s]\n=v\n",         // no key
	} {
		if es, err := parseConfig([]byte(in)); err == nil {
			t.Errorf("%q parsed as %q, want an error", in, entryLines(es))
		}
		p := filepath.Join(t.TempDir(), "config")
		os.WriteFile(p, []byte(in), 0o644)
		if _, err := exec.LookPath("git"); err == nil {
			if out, err := exec.Command("git", "config", "--file", p, "--list").CombinedOutput(); err == nil {
				t.Errorf("%q: git accepts it (%q) but the parser does not", in, out)
			}
		}
	}
}
