package supervise

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/sirupsen/logrus"
)

// auditLog is one JSONL file of the store, read incrementally.
type auditLog struct {
	dir, name string
	mode      os.FileMode // of the file, when created here
	dirMode   os.FileMode // of the directory, when created here
	types     []string    // the event types this log may hold; others are skipped

	offset  int64 // bytes consumed
	partial bool  // the file ends with a line without its newline
}

func (l *auditLog) path() string { return filepath.Join(l.dir, l.name) }

// read returns the complete lines appended since the last read, decoded. A
// line that does not decode, or holds an event of a type this log may not
// hold, is skipped with a warning naming its byte offset: one torn write
// (a full disk, a crash) must not make every operator command fail. A
// missing file (or directory) reads as empty.
func (l *auditLog) read(log logrus.FieldLogger) ([]Event, error) {
	f, err := os.Open(l.path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(l.offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	var events []Event
	for {
		line, rest, ok := bytes.Cut(data, []byte{'\n'})
		if !ok {
			l.partial = len(data) > 0 // read next time, once its newline is there
			return events, nil
		}
		at := l.offset
		l.offset += int64(len(line)) + 1
		data = rest
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil {
			log.Warnf("%s: skipping the unparsable line at byte %d: %v", l.path(), at, err)
			continue
		}
		if !slices.Contains(l.types, e.Type) {
			log.Warnf("%s: skipping the line at byte %d: no %q events in this log", l.path(), at, e.Type)
			continue
		}
		events = append(events, e)
	}
}

// append writes one event as one line; the caller holds the log's lock. A
// torn last line (a writer that died mid-write) is ended first, so the new
// event is a line of its own.
func (l *auditLog) append(e Event) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("append audit log: %w", err)
	}
	if l.partial {
		line = append([]byte{'\n'}, line...)
	}
	f, err := openAppend(l.path(), l.mode)
	if err != nil {
		return fmt.Errorf("append audit log: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append audit log: %w", err)
	}
	l.partial = false
	return nil
}

// ensureDir creates the log's directory if it is missing.
func (l *auditLog) ensureDir() error {
	if _, err := os.Stat(l.dir); !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(l.dir, l.dirMode); err != nil {
		return err
	}
	return os.Chmod(l.dir, l.dirMode) // past the umask: the daemon reads the decisions
}

// openAppend opens path for appending, creating it with mode (past the
// umask: the daemon must be able to read the decisions).
func openAppend(path string, mode os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, mode)
	if err == nil {
		if err := f.Chmod(mode); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	if !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
}
