package supervise

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Kinds of request, one per tool.
const (
	KindEgress     = "egress"     // request_egress: allow a host
	KindBlock      = "block"      // report_block: a URL the proxy blocked
	KindCapability = "capability" // request_capability: anything else
)

// Event types in the audit log.
const (
	EventRequest   = "request"   // the agent asked
	EventApprove   = "approve"   // the operator approved
	EventDeny      = "deny"      // the operator denied
	EventTimeout   = "timeout"   // a call reached its deadline unanswered
	EventDelivered = "delivered" // the decision reached the agent
)

// Request states.
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
	StatusDenied   = "denied"
)

// Store file names inside the store directory.
const (
	auditFile = "audit.jsonl"
	lockFile  = "lock"
)

// Event is one line of the audit log. The log is the only state: requests
// and their decisions are folded from it.
type Event struct {
	Time    time.Time `json:"time"`
	Type    string    `json:"event"`
	ID      string    `json:"id"`
	Kind    string    `json:"kind,omitempty"`
	Subject string    `json:"subject,omitempty"`
	// Host is the host an approval adds to the allowlist ("" for capabilities).
	Host   string `json:"host,omitempty"`
	Reason string `json:"reason,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Request is one request of the agent and what became of it.
type Request struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	Host    string    `json:"host,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Asked   time.Time `json:"asked"`
	Status  string    `json:"status"`
	Note    string    `json:"note,omitempty"`
	Decided time.Time `json:"decided,omitzero"`
	// Delivered is set once the decision reached a waiting call.
	Delivered bool `json:"delivered"`
}

// Pending reports whether the operator has not answered yet.
func (r Request) Pending() bool { return r.Status == StatusPending }

// Ask is what the agent asks for.
type Ask struct {
	Kind, Subject, Host, Reason string
}

// Store is supervise's state on disk: an append-only JSONL audit log in a
// directory, shared by the server and the operator commands (separate
// processes). Writers hold an flock on the directory's lock file; readers
// need no lock, they consume complete lines only.
type Store struct {
	dir string

	mu       sync.Mutex
	offset   int64
	events   []Event
	requests []Request
	byID     map[string]int
}

// Open opens (creating if needed) the store in dir and reads its log.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open supervise store: %w", err)
	}
	s := &Store{dir: dir, byID: map[string]int{}}
	if err := s.Refresh(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// Refresh reads the events other processes appended since the last read.
func (s *Store) Refresh() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshLocked()
}

func (s *Store) refreshLocked() error {
	f, err := os.Open(filepath.Join(s.dir, auditFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(s.offset, io.SeekStart); err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	for {
		line, rest, ok := bytes.Cut(data, []byte{'\n'})
		if !ok {
			return nil // a partial last line is read next time
		}
		s.offset += int64(len(line)) + 1
		data = rest
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("read audit log at byte %d: %w", s.offset-int64(len(line))-1, err)
		}
		s.apply(e)
	}
}

// apply folds one event into the state.
func (s *Store) apply(e Event) {
	s.events = append(s.events, e)
	if e.Type == EventRequest {
		s.byID[e.ID] = len(s.requests)
		s.requests = append(s.requests, Request{
			ID: e.ID, Kind: e.Kind, Subject: e.Subject, Host: e.Host,
			Reason: e.Reason, Asked: e.Time, Status: StatusPending,
		})
		return
	}
	i, ok := s.byID[e.ID]
	if !ok {
		return
	}
	r := &s.requests[i]
	switch e.Type {
	case EventApprove, EventDeny:
		r.Status, r.Note, r.Decided = statusOf(e.Type), e.Note, e.Time
	case EventDelivered:
		r.Delivered = true
	}
}

func statusOf(eventType string) string {
	if eventType == EventApprove {
		return StatusApproved
	}
	return StatusDenied
}

// Requests returns every request, oldest first.
func (s *Store) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Events returns the audit log, oldest first.
func (s *Store) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Get returns the request with the given ID.
func (s *Store) Get(id string) (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byID[id]
	if !ok {
		return Request{}, false
	}
	return s.requests[i], true
}

// ApprovedHosts are the hosts of every approved request, in approval order.
func (s *Store) ApprovedHosts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.approvedHostsLocked()
}

func (s *Store) approvedHostsLocked() []string {
	var hosts []string
	for _, r := range s.requests {
		if r.Status == StatusApproved && r.Host != "" {
			hosts = append(hosts, r.Host)
		}
	}
	return hosts
}

// Ask queues a request, or returns the open one for the same thing: the
// latest request of that kind and subject that is pending, or decided while
// nobody was waiting (its decision not yet delivered). So an agent that calls
// again after a timeout or a server restart waits on the same ID, and gets a
// decision the operator made in between.
func (s *Store) Ask(a Ask, now time.Time) (Request, error) {
	var out Request
	err := s.locked(func() error {
		if r, ok := s.openLocked(a); ok {
			out = r
			return nil
		}
		id := "r" + strconv.Itoa(len(s.requests)+1)
		e := Event{Time: now, Type: EventRequest, ID: id, Kind: a.Kind,
			Subject: a.Subject, Host: a.Host, Reason: a.Reason}
		if err := s.appendLocked(e); err != nil {
			return err
		}
		out = s.requests[s.byID[id]]
		return nil
	})
	if err != nil {
		return Request{}, fmt.Errorf("queue request: %w", err)
	}
	return out, nil
}

func (s *Store) openLocked(a Ask) (Request, bool) {
	for i := len(s.requests) - 1; i >= 0; i-- {
		r := s.requests[i]
		if r.Kind != a.Kind || r.Subject != a.Subject {
			continue
		}
		return r, r.Pending() || !r.Delivered
	}
	return Request{}, false
}

// Decide records the operator's decision on a pending request. before runs
// under the store's lock, before the decision is written, with the request
// and the approved hosts including this one (on approval): a failure leaves
// the request pending.
func (s *Store) Decide(id string, approve bool, note string, now time.Time,
	before func(r Request, approvedHosts []string) error) (Request, error) {
	var out Request
	err := s.locked(func() error {
		i, ok := s.byID[id]
		if !ok {
			return fmt.Errorf("no request %s", id)
		}
		r := s.requests[i]
		if !r.Pending() {
			return fmt.Errorf("request %s is already %s", id, r.Status)
		}
		typ := EventDeny
		hosts := s.approvedHostsLocked()
		if approve {
			typ = EventApprove
			if r.Host != "" {
				hosts = append(hosts, r.Host)
			}
		}
		if before != nil {
			if err := before(r, hosts); err != nil {
				return err
			}
		}
		if err := s.appendLocked(Event{Time: now, Type: typ, ID: id, Note: note}); err != nil {
			return err
		}
		out = s.requests[i]
		return nil
	})
	if err != nil {
		return Request{}, fmt.Errorf("decide %s: %w", id, err)
	}
	return out, nil
}

// Delivered records that a decision reached the agent (once).
func (s *Store) Delivered(id string, now time.Time) error {
	return s.locked(func() error {
		i, ok := s.byID[id]
		if !ok || s.requests[i].Delivered || s.requests[i].Pending() {
			return nil
		}
		return s.appendLocked(Event{Time: now, Type: EventDelivered, ID: id})
	})
}

// TimedOut records that a call for id reached its deadline unanswered.
func (s *Store) TimedOut(id string, now time.Time) error {
	return s.locked(func() error {
		return s.appendLocked(Event{Time: now, Type: EventTimeout, ID: id})
	})
}

// locked runs fn holding the store's mutex and its file lock, after catching
// up with the log.
func (s *Store) locked(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockDir(filepath.Join(s.dir, lockFile))
	if err != nil {
		return fmt.Errorf("lock supervise store: %w", err)
	}
	defer unlock()
	if err := s.refreshLocked(); err != nil {
		return err
	}
	return fn()
}

// appendLocked writes one event as one line and folds it in.
func (s *Store) appendLocked(e Event) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("append audit log: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.dir, auditFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
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
	return s.refreshLocked()
}
