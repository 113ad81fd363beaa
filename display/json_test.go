package display

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

func TestJSON(t *testing.T) {
	type row struct {
		Subject string `json:"subject"`
		N       int    `json:"n"`
	}
	for _, c := range []struct {
		name string
		in   any
		want string
	}{
		{"plain", row{"pypi.org", 1}, `{"subject":"pypi.org","n":1}`},
		{"C0 (encoding/json already)", "\x1b[2J\n", `"\u001b[2J\n"`},
		{"DEL", "a\x7f", `"a\u007f"`},
		{"C1 CSI and OSC", "\u009b2J\u009d0;t\u009c", `"\u009b2J\u009d0;t\u009c"`},
		{"bidi override", row{"a\u202eb", 2}, `{"subject":"a\u202eb","n":2}`},
		{"zero-width joiner, no-break space", "a\u200db\u00a0c", `"a\u200db\u00a0c"`},
		{"line separators (encoding/json already)", "a\u2028b", `"a\u2028b"`},
		{"above the BMP: surrogate pair", "\U000e0001", `"\udb40\udc01"`},
		{"invalid UTF-8 (encoding/json: U+FFFD)", "a\xffb", `"a\ufffdb"`},
		{"invalid UTF-8 in a raw message", json.RawMessage("\"a\xffb\""), `"a\ufffdb"`},
		{"kept: other scripts, emoji", "größe 日本 😀", `"größe 日本 😀"`},
		{"map key", map[string]int{"k\u202e": 1}, `{"k\u202e":1}`},
		{"raw message", json.RawMessage("[\"\u009b\"]"), `["\u009b"]`},
	} {
		got, err := JSON(c.in)
		if err != nil || string(got) != c.want {
			t.Errorf("%s: JSON(%q) = %s, %v; want %s", c.name, c.in, got, err, c.want)
		}
	}
}

func TestEncoder(t *testing.T) {
	var b bytes.Buffer
	enc := NewEncoder(&b)
	for _, v := range []any{"\u009b", map[string]string{"a": "\u202e"}} {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	if want := `"\u009b"` + "\n" + `{"a":"\u202e"}` + "\n"; b.String() != want {
		t.Errorf("encoded %q, want %q", b.String(), want)
	}
	if err := enc.Encode(func() {}); err == nil {
		t.Error("encoded a func")
	}
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{"", "a", "\u009b", "\u202e\U000e0001", "\xff", "\"\\<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := map[string]any{s: []string{s, strings.ToUpper(s)}}
		got, err := JSON(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range string(got) {
			if !unicode.IsPrint(r) {
				t.Fatalf("JSON(%q) = %q holds %U", s, got, r)
			}
		}
		plain, _ := json.Marshal(v)
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("JSON(%q) = %q: %v", s, got, err)
		}
		json.Unmarshal(plain, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("JSON(%q) decodes to %q, json.Marshal's to %q", s, a, b)
		}
	})
}
