package sidecar

import (
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// exit reports that a daemon's process ended.
type exit struct {
	daemon string
	status string // "exit status 3", "signal: killed"
}

// watch reports each daemon's exit on the returned channel. With reap, one
// loop waits for any child, so orphans re-parented to the init (PID 1 or
// subreaper) are reaped too; otherwise each daemon is waited for alone (tests
// run the init inside the test process, beside other children).
func watch(procs []*proc, reap bool, log logrus.FieldLogger) <-chan exit {
	exits := make(chan exit, len(procs))
	if reap {
		go reapAll(procs, exits, log)
		return exits
	}
	for _, p := range procs {
		go func() {
			state, err := p.cmd.Process.Wait()
			status := fmt.Sprint(err)
			if err == nil {
				status = state.String()
			}
			exits <- exit{daemon: p.name, status: status}
		}()
	}
	return exits
}

// reapAll waits for any child until every daemon has exited.
func reapAll(procs []*proc, exits chan<- exit, log logrus.FieldLogger) {
	byPID := map[int]string{}
	for _, p := range procs {
		byPID[p.pid()] = p.name
	}
	for len(byPID) > 0 {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil { // ECHILD: someone else reaped them; report them gone
			for _, name := range byPID {
				exits <- exit{daemon: name, status: "lost: " + err.Error()}
			}
			return
		}
		name, ok := byPID[pid]
		if !ok {
			log.Debugf("reaped orphan pid %d (%s)", pid, describeWait(ws))
			continue
		}
		delete(byPID, pid)
		exits <- exit{daemon: name, status: describeWait(ws)}
	}
}

// describeWait words a wait status as os.ProcessState.String does.
func describeWait(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return "signal: " + ws.Signal().String()
	default:
		return fmt.Sprintf("wait status %#x", uint32(ws))
	}
}
