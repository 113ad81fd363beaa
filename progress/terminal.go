// Package progress shows a person the steps of a launch as they run: on a
// terminal one line per step, a spinner while it runs and its duration once
// it is done (Terminal, in the manner of kind's `create cluster`), log
// messages as sentences above those lines (Sentences); elsewhere one log
// record per finished step (Log), so that text and JSON logs stay
// parseable.
package progress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// The spinner's frames and how often they turn.
const (
	frames     = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
	frameEvery = 100 * time.Millisecond
)

// Terminal draws the steps on a terminal. Steps may run at once: each has
// its line, in the order they started; a line is final (never drawn again)
// once it and every line above it are done. Messages written to the
// Terminal (the log's output) appear above the lines still running. While
// no step runs it draws nothing and passes writes through, so a program
// that takes the terminal over afterwards (the attached agent) finds it
// as it was.
type Terminal struct {
	w io.Writer
	// tick, when set, turns the spinner instead of a ticker (tests: one
	// that never fires, and turn by hand).
	tick <-chan time.Time

	mu      sync.Mutex
	live    []*line // lines not final yet, in start order
	drawn   int     // how many of live are on the screen, above the cursor
	frame   int
	running int
	stop    chan struct{} // ends the spinner's goroutine
}

type line struct {
	name string
	done bool
	text string // once done
}

// NewTerminal draws on w, a terminal.
func NewTerminal(w io.Writer) *Terminal { return &Terminal{w: w} }

// Start shows a step running; the func it returns shows it done (err nil:
// ✓), failed (✗) or stopped (-: cancelled), with its duration.
func (t *Terminal) Start(name string) func(took time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := &line{name: name}
	t.live = append(t.live, l)
	t.running++
	if t.running == 1 {
		t.stop = make(chan struct{})
		go t.spin(t.stop)
	}
	t.redraw()
	return func(took time.Duration, err error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if l.done {
			return
		}
		mark := "✓"
		switch {
		case stopped(err):
			mark = "-"
		case err != nil:
			mark = "✗"
		}
		l.done, l.text = true, fmt.Sprintf(" %s %s (%s)", mark, name, Duration(took))
		t.running--
		if t.running == 0 {
			close(t.stop)
		}
		t.redraw()
	}
}

// Write prints p (whole lines: a log entry) above the running steps.
func (t *Terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.erase()
	n, err := t.w.Write(p)
	t.redraw()
	return n, err
}

// spin turns the spinner until stop is closed.
func (t *Terminal) spin(stop <-chan struct{}) {
	tick := t.tick
	if tick == nil {
		tk := time.NewTicker(frameEvery)
		defer tk.Stop()
		tick = tk.C
	}
	for {
		select {
		case <-stop:
			return
		case <-tick:
			t.turn()
		}
	}
}

// turn shows the spinner's next frame.
func (t *Terminal) turn() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.frame++
	t.redraw()
}

// erase moves the cursor up over the lines drawn and clears them.
func (t *Terminal) erase() {
	if t.drawn > 0 {
		fmt.Fprintf(t.w, "\x1b[%dA\r\x1b[J", t.drawn)
		t.drawn = 0
	}
}

// redraw draws the live lines again; those now final are dropped from
// live and never drawn again.
func (t *Terminal) redraw() {
	t.erase()
	var b strings.Builder
	for _, l := range t.live {
		if l.done {
			b.WriteString(l.text)
		} else {
			f := []rune(frames)
			b.WriteString(" " + string(f[t.frame%len(f)]) + " " + l.name)
		}
		b.WriteByte('\n')
	}
	io.WriteString(t.w, b.String())
	final := 0
	for final < len(t.live) && t.live[final].done {
		final++
	}
	t.live = t.live[final:]
	t.drawn = len(t.live)
}

// stopped reports whether a step ended because it was cancelled (a step
// alongside failed, or a signal), not because it failed.
func stopped(err error) bool { return errors.Is(err, context.Canceled) }

// Duration is a step's duration as the lines show it: milliseconds below a
// second, then tenths of seconds.
func Duration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}
