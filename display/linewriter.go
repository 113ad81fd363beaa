package display

import (
	"bytes"
	"io"
	"unicode/utf8"
)

// MaxLine is how much of a line a LineWriter holds: a longer line is written
// in pieces of at most this many bytes (each made visible on its own, never
// splitting a UTF-8 sequence).
const MaxLine = 64 << 10

// lineWriter makes each line written through it visible (see Visible).
type lineWriter struct {
	w   io.Writer
	buf []byte // the partial last line, shorter than MaxLine
	err error  // the first write error of w, returned ever after
}

// NewLineWriter returns a writer that passes every line written to it
// through Visible before writing it to w, keeping each line's trailing
// '\n'. A partial last line waits for its newline, or for Close, which
// writes it (without adding a newline) but does not close w. Memory is
// bounded by MaxLine.
func NewLineWriter(w io.Writer) io.WriteCloser { return &lineWriter{w: w} }

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && l.err == nil {
		chunk := p[:min(len(p), MaxLine-len(l.buf))] // l.buf never outgrows MaxLine
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			l.emit(append(l.buf, chunk[:i]...), "\n")
			l.buf, p = l.buf[:0], p[i+1:]
			continue
		}
		l.buf, p = append(l.buf, chunk...), p[len(chunk):]
		if len(l.buf) == MaxLine {
			cut := pieceEnd(l.buf)
			l.emit(l.buf[:cut], "")
			l.buf = append(l.buf[:0], l.buf[cut:]...)
		}
	}
	if l.err != nil {
		return 0, l.err
	}
	return n, nil
}

// Close writes the partial last line, if any.
func (l *lineWriter) Close() error {
	if len(l.buf) > 0 {
		l.emit(l.buf, "")
		l.buf = nil
	}
	return l.err
}

// emit writes Visible(line) and end, unless an earlier write failed.
func (l *lineWriter) emit(line []byte, end string) {
	if l.err != nil {
		return
	}
	_, l.err = io.WriteString(l.w, Visible(string(line))+end)
}

// pieceEnd is where to cut a full buffer: at its end, or before a UTF-8
// sequence that its last bytes only begin (the rest is still to come).
func pieceEnd(b []byte) int {
	for j := len(b) - 1; j > len(b)-utf8.UTFMax; j-- {
		if utf8.RuneStart(b[j]) {
			if !utf8.FullRune(b[j:]) {
				return j
			}
			break
		}
	}
	return len(b)
}
