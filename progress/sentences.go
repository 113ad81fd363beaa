package progress

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/claude-bottle/claude-bottle/display"
)

// Sentences formats log entries for a person at a terminal: the message as
// it is written (`CA (pipelock) SHA-256 fingerprint: …`), a warning or an
// error said so first, fields after it as key=value. Every line is made
// visible (display.Visible): a message may quote what the guest sent, and
// nothing in it may drive the terminal.
type Sentences struct{}

func (Sentences) Format(e *logrus.Entry) ([]byte, error) {
	var b strings.Builder
	switch e.Level {
	case logrus.WarnLevel:
		b.WriteString("warning: ")
	case logrus.ErrorLevel, logrus.FatalLevel, logrus.PanicLevel:
		b.WriteString("error: ")
	case logrus.DebugLevel, logrus.TraceLevel:
		b.WriteString("debug: ")
	}
	lines := strings.Split(strings.TrimRight(e.Message, "\n"), "\n")
	for i, l := range lines {
		if i > 0 {
			b.WriteString("\n  ")
		}
		b.WriteString(display.Visible(l))
	}
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(" " + display.Visible(k) + "=" + display.Visible(fmt.Sprint(e.Data[k])))
	}
	b.WriteByte('\n')
	return []byte(b.String()), nil
}
