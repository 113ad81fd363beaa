// Package display makes text from an untrusted source safe to show a person:
// nothing in it can drive the terminal (move the cursor, retitle the window,
// erase or draw lines) or reorder what is shown (bidi overrides). Every byte
// from the guest that claude-bottle prints goes through it.
package display

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Visible returns s with every rune that unicode.IsPrint rejects written as
// the escape strconv.QuoteToGraphic uses (\x1b, \t, \n, \u009b, \u202e, …)
// and every byte that is not valid UTF-8 as \xNN, without the quotes. A
// plain space stays; so do backslashes and quotes (a literal "\x1b" typed by
// the guest is harmless text, and doubling every backslash would garble
// paths). The result is one line: newlines are escaped too, so Visible also
// serves for one table cell.
//
// unicode.IsPrint is stricter than the IsGraphic of QuoteToGraphic: it also
// rejects the Unicode spaces other than U+0020 (no-break and wide spaces
// that look like ASCII ones), the format characters (zero-width joiner and
// spaces, bidi marks and overrides) and the line and paragraph separators
// (U+2028, U+2029). An emoji ZWJ sequence therefore shows its joiners as
// \u200d: legible, and nothing can hide between two letters.
func Visible(s string) string {
	if printable(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(s[i])&0xf, 16))
		case unicode.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\u202e', …: the escape between the quotes
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// printable reports whether Visible would return s unchanged.
func printable(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return false
			}
		}
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
