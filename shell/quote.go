package shell

import "strings"

// Quote returns s as one POSIX shell word: bare when it only holds characters
// no shell treats specially, else in single quotes with each ' written as '"'"'.
// The empty string is ”.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isBare(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// isBare reports whether every byte of s is in [A-Za-z0-9_@%+=:,./-].
func isBare(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_@%+=:,./-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Join quotes each word and joins them with spaces: a line a POSIX shell
// splits back into argv. Dry-run output, debug logs and errors all use it.
func Join(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}
