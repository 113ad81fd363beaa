package provision

import (
	"bytes"
	"fmt"
	"strings"
)

// configEntry is one "key = value" line of a git config file.
type configEntry struct {
	Section    string // lower case
	Subsection string // case kept ([s "sub"]) or lower case (the old [s.sub] form)
	Key        string // lower case
	Value      string
	NoValue    bool // a key alone, git's boolean true
}

// parseConfig reads git's config syntax as git's own parser (config.c)
// does: comments (# and ;) outside quotes, [section], [section "sub"] with
// \" and \\ escapes, the old [section.sub] form, keys on the header's line,
// values with quotes, the \n \t \b \\ \" escapes and backslash-newline
// continuations, CRLF line ends and a UTF-8 byte order mark. Includes are
// not followed: nothing the host's files say reaches the guest unless it
// passed a check of its own (see Repo). Anything git would reject is an
// error, with its line number.
func parseConfig(b []byte) ([]configEntry, error) {
	p := &configParser{b: bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), line: 1}
	var out []configEntry
	var section, sub string // "" before any header: git reads such keys, nobody uses them
	comment := false
	for {
		start := p.line
		c := p.next()
		switch {
		case c == '\n':
			if p.eof {
				return out, nil
			}
			comment = false
		case comment, isConfigSpace(c):
		case c == '#' || c == ';':
			comment = true
		case c == '[':
			var err error
			if section, sub, err = p.header(); err != nil {
				return nil, fmt.Errorf("line %d: %v", start, err)
			}
		case isAlpha(c):
			e, err := p.keyValue(c)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", start, err)
			}
			e.Section, e.Subsection = section, sub
			out = append(out, e)
		default:
			return nil, fmt.Errorf("line %d: bad config line", start)
		}
	}
}

// configParser walks a config file byte by byte. At the end it returns
// '\n' with eof set, as git's get_next_char does.
type configParser struct {
	b    []byte
	i    int
	line int
	eof  bool
}

func (p *configParser) next() byte {
	if p.i >= len(p.b) {
		p.eof = true
		return '\n'
	}
	c := p.b[p.i]
	p.i++
	if c == '\r' && p.i < len(p.b) && p.b[p.i] == '\n' {
		p.i++
		c = '\n'
	}
	if c == '\n' {
		p.line++
	}
	return c
}

// header reads a section header after its '[': "name]", `name "sub"]` or
// the old "name.sub]". It returns the section and the subsection.
func (p *configParser) header() (string, string, error) {
	var name strings.Builder
	for {
		c := p.next()
		switch {
		case p.eof:
			return "", "", fmt.Errorf("unterminated section header")
		case c == ']':
			section, sub, _ := strings.Cut(name.String(), ".")
			if section == "" {
				return "", "", fmt.Errorf("empty section name")
			}
			return section, sub, nil
		case isConfigSpace(c):
			return p.quotedSub(name.String(), c)
		case !isKeyChar(c) && c != '.':
			return "", "", fmt.Errorf("bad character %q in a section name", c)
		}
		name.WriteByte(lower(c))
	}
}

// quotedSub reads the `"sub"]` of `[name "sub"]`, c being the space read.
func (p *configParser) quotedSub(name string, c byte) (string, string, error) {
	for isConfigSpace(c) {
		if c == '\n' {
			return "", "", fmt.Errorf("unterminated section header")
		}
		c = p.next()
	}
	if c != '"' {
		return "", "", fmt.Errorf(`want [section "subsection"]`)
	}
	var sub strings.Builder
	for {
		c = p.next()
		if c == '\n' {
			return "", "", fmt.Errorf("unterminated subsection name")
		}
		if c == '"' {
			break
		}
		if c == '\\' {
			if c = p.next(); c == '\n' {
				return "", "", fmt.Errorf("unterminated subsection name")
			}
		}
		sub.WriteByte(c)
	}
	if p.next() != ']' {
		return "", "", fmt.Errorf(`want ']' after the subsection name`)
	}
	section, rest, dotted := strings.Cut(name, ".")
	if section == "" {
		return "", "", fmt.Errorf("empty section name")
	}
	if dotted { // [a.b "c"] is a.b.c: the subsection is "b.c"
		return section, rest + "." + sub.String(), nil
	}
	return section, sub.String(), nil
}

// keyValue reads "key", "key = value" from the key's first letter c.
func (p *configParser) keyValue(c byte) (configEntry, error) {
	key := []byte{lower(c)}
	for {
		c = p.next()
		if p.eof || !isKeyChar(c) {
			break
		}
		key = append(key, lower(c))
	}
	for c == ' ' || c == '\t' {
		c = p.next()
	}
	e := configEntry{Key: string(key)}
	switch c {
	case '\n':
		e.NoValue = true
		return e, nil
	case '=':
		v, err := p.value()
		e.Value = v
		return e, err
	}
	return e, fmt.Errorf("want '=' after the key %q", key)
}

// value reads a value up to its line's end (git's parse_value): white
// space outside quotes is trimmed at both ends and kept as single spaces
// inside, a comment ends the value, backslash-newline continues it.
func (p *configParser) value() (string, error) {
	var v []byte
	quote, comment, spaces := false, false, 0
	for {
		c := p.next()
		switch {
		case c == '\n':
			if quote {
				return "", fmt.Errorf("unterminated quoted value")
			}
			return string(v), nil
		case comment:
			continue
		case isConfigSpace(c) && !quote:
			if len(v) > 0 {
				spaces++
			}
			continue
		case !quote && (c == '#' || c == ';'):
			comment = true
			continue
		}
		for ; spaces > 0; spaces-- {
			v = append(v, ' ')
		}
		switch c {
		case '\\':
			e, err := p.escape()
			if err != nil {
				return "", err
			}
			if e >= 0 {
				v = append(v, byte(e))
			}
		case '"':
			quote = !quote
		default:
			v = append(v, c)
		}
	}
}

// escape reads what follows a backslash in a value: the byte it stands
// for, or -1 for a line continuation.
func (p *configParser) escape() (int, error) {
	c := p.next()
	switch {
	case c == '\n': // also at the end of the file, as in git
		return -1, nil
	case c == 't':
		return '\t', nil
	case c == 'b':
		return '\b', nil
	case c == 'n':
		return '\n', nil
	case c == '\\' || c == '"':
		return int(c), nil
	}
	return 0, fmt.Errorf("bad escape sequence in a value")
}

// isConfigSpace is git's isspace: space, tab, newline, carriage return.
func isConfigSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isKeyChar(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' || c == '-' }

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
