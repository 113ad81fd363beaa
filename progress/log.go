package progress

import (
	"time"

	"github.com/sirupsen/logrus"
)

// Log reports each step as one log record once it is done: its name as the
// message, its duration as a field (`level=info msg="create network"
// duration=61ms`, or the same as JSON). Nothing while it runs: a log is
// read afterwards.
type Log struct{ L logrus.FieldLogger }

// Start returns the func that logs the step done or failed.
func (l Log) Start(name string) func(took time.Duration, err error) {
	return func(took time.Duration, err error) {
		msg := name
		switch {
		case stopped(err):
			msg += " stopped"
		case err != nil:
			msg += " failed" // the error itself is the command's one error message
		}
		l.L.WithField("duration", Duration(took)).Info(msg)
	}
}
