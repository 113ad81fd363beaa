package supervise

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Kinds of request, one per tool.
const (
	KindEgress     = "egress"     // request_egress: allow a host
	KindBlock      = "block"      // report_block: a URL the proxy blocked
	KindCapability = "capability" // request_capability: anything else
)

// Event types in the audit logs.
const (
	EventRequest   = "request"   // the agent asked (requests log)
	EventTimeout   = "timeout"   // a call reached its deadline unanswered (requests log)
	EventDelivered = "delivered" // the decision reached the agent (requests log)
	EventApprove   = "approve"   // the operator approved (decisions log)
	EventDeny      = "deny"      // the operator denied (decisions log)
)

// Request states.
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
	StatusDenied   = "denied"
)

// Store file names inside each of the store's directories.
const (
	requestsFile  = "audit.jsonl"
	decisionsFile = "decisions.jsonl"
	lockFile      = "lock"
)

// Event is one line of an audit log. The logs are the only state: requests
// and their decisions are folded from them.
type Event struct {
	Time    time.Time `json:"time"`
	Type    string    `json:"event"`
	ID      string    `json:"id"`
	Kind    string    `json:"kind,omitempty"`
	Subject string    `json:"subject,omitempty"`
	// Host is, on a request, the host the daemon derived from the subject;
	// on an approval, the host it added to the allowlist, derived again by
	// the operator command ("" for capabilities).
	Host   string `json:"host,omitempty"`
	Reason string `json:"reason,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Request is one request of the agent and what became of it.
type Request struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	// Host is the host an approval adds to pipelock's allowlist (or added):
	// derived from the subject here, never taken from the daemon's record
	// alone. "" for capabilities, and when Problem is set.
	Host string `json:"host,omitempty"`
	// Problem says why the request cannot be approved: its subject has no
	// valid host, or the daemon recorded a host other than the subject's
	// (a daemon that lies), or its log no longer matches the decision.
	Problem string    `json:"problem,omitempty"`
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

// record is a request as the daemon recorded it.
type record struct {
	Event
	delivered bool
}

// Store is supervise's state on disk: two append-only JSONL audit logs in
// two directories. The requests log (requests, timeouts, deliveries) is the
// daemon's: in the bundle it runs as its own user and owns that directory.
// The decisions log is the operator commands': they run as root, and the
// daemon can only read it. So a compromised daemon can invent requests but
// cannot approve one: a decision found in the requests log is ignored, and
// the host an approval adds is derived again from the request's subject.
//
// The daemon and the operator commands are separate processes. Writers hold
// an flock on their log directory's lock file; readers need no lock, they
// consume complete lines only.
type Store struct {
	log logrus.FieldLogger

	mu        sync.Mutex
	requests  auditLog
	decisions auditLog
	reqEvents []Event // the requests log's events, in order
	decEvents []Event // the decisions log's events, in order
	records   []record
	byID      map[string]int // index in records; a repeated ID: the latest
	decided   map[string]int // index in decEvents of the first decision on each ID
}

// Open opens the store: the requests log in requestsDir, the decisions log
// in decisionsDir, and reads both. A missing directory reads as empty; the
// first write to a log creates its directory (requests 0700, decisions
// 0755, decisions file 0644), so a reader never creates one. In the bundle
// the init (root) creates both, and the daemon must not own the decisions.
func Open(requestsDir, decisionsDir string) (*Store, error) {
	return open(requestsDir, decisionsDir, logrus.StandardLogger())
}

func open(requestsDir, decisionsDir string, log logrus.FieldLogger) (*Store, error) {
	s := &Store{
		log:       log,
		requests:  auditLog{dir: requestsDir, name: requestsFile, mode: 0o600, dirMode: 0o700, types: []string{EventRequest, EventTimeout, EventDelivered}},
		decisions: auditLog{dir: decisionsDir, name: decisionsFile, mode: 0o644, dirMode: 0o755, types: []string{EventApprove, EventDeny}},
		byID:      map[string]int{},
		decided:   map[string]int{},
	}
	if err := s.Refresh(); err != nil {
		return nil, err
	}
	return s, nil
}

// Refresh reads the events other processes appended since the last read.
func (s *Store) Refresh() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshLocked()
}

func (s *Store) refreshLocked() error {
	reqs, err := s.requests.read(s.log)
	if err != nil {
		return err
	}
	for _, e := range reqs {
		s.applyRequestEvent(e)
	}
	decs, err := s.decisions.read(s.log)
	if err != nil {
		return err
	}
	for _, e := range decs {
		if _, ok := s.decided[e.ID]; !ok {
			s.decided[e.ID] = len(s.decEvents)
		}
		s.decEvents = append(s.decEvents, e)
	}
	return nil
}

// applyRequestEvent folds one event of the requests log in.
func (s *Store) applyRequestEvent(e Event) {
	if e.Type == EventRequest && !idPattern.MatchString(e.ID) {
		s.log.Warnf("supervise store: skipping a request with a bad ID %q", e.ID)
		return
	}
	s.reqEvents = append(s.reqEvents, e)
	switch e.Type {
	case EventRequest:
		s.byID[e.ID] = len(s.records)
		s.records = append(s.records, record{Event: e})
	case EventDelivered:
		if i, ok := s.byID[e.ID]; ok {
			s.records[i].delivered = true
		}
	}
}

// view is the request of records[i] with its decision.
func (s *Store) view(i int) Request {
	rec := s.records[i]
	r := Request{ID: rec.ID, Kind: rec.Kind, Subject: rec.Subject, Reason: rec.Reason,
		Asked: rec.Time, Status: StatusPending, Delivered: rec.delivered}
	di, decided := s.decided[rec.ID]
	var d Event
	if decided {
		d = s.decEvents[di]
	}
	switch {
	case decided && (d.Kind != rec.Kind || d.Subject != rec.Subject):
		r.Problem = fmt.Sprintf("decided %s on %s %q, but the requests log now says %s %q (rewritten)",
			d.Type, d.Kind, d.Subject, rec.Kind, rec.Subject)
	case decided:
		r.Status, r.Note, r.Decided = statusOf(d.Type), d.Note, d.Time
		r.Host = d.Host
	default:
		r.Host, r.Problem = approvalHost(rec.Event)
	}
	return r
}

// approvalHost derives the host an approval of a request adds from its kind
// and subject, as the tools did; a record whose host differs was not written
// by the tools, and is not approved.
func approvalHost(rec Event) (host, problem string) {
	var err error
	switch rec.Kind {
	case KindEgress:
		host, err = NormalizeHost(rec.Subject)
	case KindBlock:
		host, err = HostOfURL(rec.Subject)
	case KindCapability:
	default:
		return "", fmt.Sprintf("unknown kind %q", rec.Kind)
	}
	if err != nil {
		return "", fmt.Sprintf("the subject has no valid host: %v", err)
	}
	if host != rec.Host {
		return "", fmt.Sprintf("the daemon recorded host %q, but the subject's host is %q", rec.Host, host)
	}
	return host, ""
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
	out := make([]Request, len(s.records))
	for i := range s.records {
		out[i] = s.view(i)
	}
	return out
}

// Events returns both audit logs merged in time order.
func (s *Store) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append(append([]Event(nil), s.reqEvents...), s.decEvents...)
	slices.SortStableFunc(out, func(a, b Event) int { return a.Time.Compare(b.Time) })
	return out
}

// Get returns the request with the given ID.
func (s *Store) Get(id string) (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byID[id]
	if !ok {
		return Request{}, false
	}
	return s.view(i), true
}

// ApprovedHosts are the hosts of every approval, in approval order. They
// come from the decisions log alone: nothing the daemon writes adds one.
func (s *Store) ApprovedHosts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.approvedHostsLocked()
}

func (s *Store) approvedHostsLocked() []string {
	var hosts []string
	for i, e := range s.decEvents {
		if s.decided[e.ID] == i && e.Type == EventApprove && e.Host != "" {
			hosts = append(hosts, e.Host)
		}
	}
	return hosts
}

// Ask queues a request, or returns the open one for the same thing: the
// latest request of that kind and subject that is pending, or decided while
// nobody was waiting (its decision not yet delivered). So an agent that calls
// again after a timeout or a server restart waits on the same ID, and gets a
// decision the operator made in between. A new request beyond MaxPending
// pending ones is refused.
func (s *Store) Ask(a Ask, now time.Time) (Request, error) {
	var out Request
	err := s.locked(&s.requests, func() error {
		if r, ok := s.openLocked(a); ok {
			out = r
			return nil
		}
		if n := s.pendingLocked(); n >= MaxPending {
			return fmt.Errorf("%d requests are waiting for the operator, supervise's limit is %d: wait for answers to them (or ask the operator to deny some) before asking for more", n, MaxPending)
		}
		id := "r" + strconv.Itoa(len(s.records)+1)
		e := Event{Time: now, Type: EventRequest, ID: id, Kind: a.Kind,
			Subject: a.Subject, Host: a.Host, Reason: a.Reason}
		if err := s.appendLocked(&s.requests, e); err != nil {
			return err
		}
		out = s.view(s.byID[id])
		return nil
	})
	if err != nil {
		return Request{}, fmt.Errorf("queue request: %w", err)
	}
	return out, nil
}

func (s *Store) openLocked(a Ask) (Request, bool) {
	for i := len(s.records) - 1; i >= 0; i-- {
		if rec := s.records[i]; rec.Kind != a.Kind || rec.Subject != a.Subject {
			continue
		}
		r := s.view(i)
		return r, r.Pending() || !r.Delivered
	}
	return Request{}, false
}

func (s *Store) pendingLocked() int {
	n := 0
	for i := range s.records {
		if s.view(i).Pending() {
			n++
		}
	}
	return n
}

// Decide records the operator's decision on a pending request. An approval
// is refused when the request has a Problem; it records the host derived
// from the subject. before runs under the decisions log's lock, before the
// decision is written, with the request and the approved hosts including
// this one (on approval): a failure leaves the request pending.
func (s *Store) Decide(id string, approve bool, note string, now time.Time,
	before func(r Request, approvedHosts []string) error) (Request, error) {
	var out Request
	err := s.locked(&s.decisions, func() error {
		i, ok := s.byID[id]
		if !ok {
			return fmt.Errorf("no request %s", id)
		}
		r := s.view(i)
		if _, decided := s.decided[id]; decided || !r.Pending() {
			return fmt.Errorf("request %s is already %s", id, r.Status)
		}
		e := Event{Time: now, Type: EventDeny, ID: id, Kind: r.Kind, Subject: r.Subject, Note: note}
		hosts := s.approvedHostsLocked()
		if approve {
			if r.Problem != "" {
				return fmt.Errorf("not approving %s: %s", id, r.Problem)
			}
			e.Type, e.Host = EventApprove, r.Host
			if r.Host != "" {
				hosts = append(hosts, r.Host)
			}
		}
		if before != nil {
			if err := before(r, hosts); err != nil {
				return err
			}
		}
		if err := s.appendLocked(&s.decisions, e); err != nil {
			return err
		}
		out = s.view(i)
		return nil
	})
	if err != nil {
		return Request{}, fmt.Errorf("decide %s: %w", id, err)
	}
	return out, nil
}

// Delivered records that a decision reached the agent (once).
func (s *Store) Delivered(id string, now time.Time) error {
	return s.locked(&s.requests, func() error {
		i, ok := s.byID[id]
		if !ok || s.records[i].delivered || s.view(i).Pending() {
			return nil
		}
		return s.appendLocked(&s.requests, Event{Time: now, Type: EventDelivered, ID: id})
	})
}

// TimedOut records that a call for id reached its deadline unanswered.
func (s *Store) TimedOut(id string, now time.Time) error {
	return s.locked(&s.requests, func() error {
		return s.appendLocked(&s.requests, Event{Time: now, Type: EventTimeout, ID: id})
	})
}

// locked runs fn holding the store's mutex and l's file lock, after
// catching up with both logs.
func (s *Store) locked(l *auditLog, fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := l.ensureDir(); err != nil {
		return fmt.Errorf("lock supervise store: %w", err)
	}
	unlock, err := lockDir(filepath.Join(l.dir, lockFile))
	if err != nil {
		return fmt.Errorf("lock supervise store: %w", err)
	}
	defer unlock()
	if err := s.refreshLocked(); err != nil {
		return err
	}
	return fn()
}

// appendLocked writes one event to l and folds it in.
func (s *Store) appendLocked(l *auditLog, e Event) error {
	if err := l.append(e); err != nil {
		return err
	}
	return s.refreshLocked()
}
