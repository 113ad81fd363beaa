package display

import (
	"encoding/json"
	"fmt"
	"io"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// JSON is json.Marshal with every rune that unicode.IsPrint rejects escaped
// as \uXXXX (a surrogate pair above U+FFFF). encoding/json escapes only C0
// controls (and U+2028, U+2029), so DEL, C1 controls such as U+009B (CSI)
// and bidi overrides such as U+202E would otherwise reach a terminal that
// prints the JSON. The value decodes to the same as json.Marshal's.
func JSON(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return escapeJSON(data), nil
}

// Encoder writes values as JSON lines, escaped as JSON escapes them.
type Encoder struct{ w io.Writer }

// NewEncoder returns an Encoder that writes to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode writes v as one line of JSON (see JSON).
func (e *Encoder) Encode(v any) error {
	data, err := JSON(v)
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	if _, err := e.w.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	return nil
}

// escapeJSON escapes the non-printable runes of valid JSON. Outside strings
// valid JSON is ASCII (punctuation, literals, numbers and the whitespace
// between tokens, left alone), so every rune beyond ASCII is inside a
// string, where a \u escape means the same rune; so is DEL (0x7f), the one
// ASCII control encoding/json leaves raw.
func escapeJSON(data []byte) []byte {
	var out []byte // nil until the first escape: most output needs none
	done := 0      // data[:done] is in out
	for i := 0; i < len(data); {
		if data[i] < utf8.RuneSelf && data[i] != 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		invalid := r == utf8.RuneError && size == 1
		if unicode.IsPrint(r) && !invalid {
			i += size
			continue
		}
		if invalid {
			r = unicode.ReplacementChar // what a decoder makes of the byte anyway
		}
		out = appendEscape(append(out, data[done:i]...), r)
		i += size
		done = i
	}
	if out == nil {
		return data
	}
	return append(out, data[done:]...)
}

// appendEscape appends r as a JSON \u escape (two above U+FFFF).
func appendEscape(b []byte, r rune) []byte {
	if r1, r2 := utf16.EncodeRune(r); r1 != unicode.ReplacementChar {
		return fmt.Appendf(b, `\u%04x\u%04x`, r1, r2)
	}
	return fmt.Appendf(b, `\u%04x`, r)
}
