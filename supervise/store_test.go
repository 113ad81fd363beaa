package supervise

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	logtest "github.com/sirupsen/logrus/hooks/test"
)

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestStoreAskDedupes(t *testing.T) {
	s := newFixture(t).store(t)
	a := Ask{Kind: KindEgress, Subject: "a.example.org", Host: "a.example.org", Reason: "x"}
	r1, _ := s.Ask(a, testTime)
	again, _ := s.Ask(a, testTime) // pending: same request
	other, _ := s.Ask(Ask{Kind: KindBlock, Subject: "a.example.org", Host: "a.example.org"}, testTime)
	if r1.ID != "r1" || again.ID != "r1" || other.ID != "r2" {
		t.Fatalf("ids %s %s %s", r1.ID, again.ID, other.ID)
	}
	if _, err := s.Decide("r1", false, "no", testTime, nil); err != nil {
		t.Fatal(err)
	}
	undelivered, _ := s.Ask(a, testTime) // decided, not delivered: same request
	if undelivered.ID != "r1" || undelivered.Status != StatusDenied {
		t.Fatalf("undelivered %+v", undelivered)
	}
	if err := s.Delivered("r1", testTime); err != nil {
		t.Fatal(err)
	}
	if err := s.Delivered("r1", testTime); err != nil { // once only
		t.Fatal(err)
	}
	fresh, _ := s.Ask(a, testTime)
	if fresh.ID != "r3" || !fresh.Pending() {
		t.Fatalf("after delivery %+v", fresh)
	}
	if n := len(s.Events()); n != 5 { // 3 requests, 1 deny, 1 delivered
		t.Errorf("%d events, want 5", n)
	}
}

func TestStoreDecide(t *testing.T) {
	s := newFixture(t).store(t)
	s.Ask(Ask{Kind: KindEgress, Subject: "a.example.org", Host: "a.example.org"}, testTime)
	s.Ask(Ask{Kind: KindEgress, Subject: "b.example.org", Host: "b.example.org"}, testTime)
	if _, err := s.Decide("r9", true, "", testTime, nil); err == nil {
		t.Error("decided an unknown request")
	}
	var hosts []string
	if _, err := s.Decide("r2", true, "", testTime, func(_ Request, h []string) error { hosts = h; return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(hosts) != "[b.example.org]" {
		t.Errorf("hosts before approval %v", hosts)
	}
	if _, err := s.Decide("r2", false, "", testTime, nil); err == nil {
		t.Error("decided r2 twice")
	}
	if _, err := s.Decide("r1", true, "", testTime, func(Request, []string) error { return fmt.Errorf("boom") }); err == nil {
		t.Error("a failing before hook did not fail the decision")
	}
	if r, _ := s.Get("r1"); !r.Pending() {
		t.Errorf("r1 is %s after a failed approval", r.Status)
	}
	if got := fmt.Sprint(s.ApprovedHosts()); got != "[b.example.org]" {
		t.Errorf("approved hosts %s", got)
	}
}

// TestStoreAcrossProcesses: two Store values on one directory (server and
// operator command) see each other's events; IDs stay unique under
// concurrent writers; a partial last line waits for its newline.
func TestStoreAcrossProcesses(t *testing.T) {
	fx := newFixture(t)
	a, b := fx.store(t), fx.store(t)
	var wg sync.WaitGroup
	for i := range 20 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := fmt.Sprintf("h%d.example.org", i)
			if _, err := s.Ask(Ask{Kind: KindEgress, Subject: h, Host: h}, testTime); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	a.Refresh()
	seen := map[string]bool{}
	for _, r := range a.Requests() {
		seen[r.ID] = true
	}
	if len(seen) != 20 || !seen["r1"] || !seen["r20"] {
		t.Fatalf("ids %v", seen)
	}

	if _, err := a.Decide("r2", false, "", testTime, nil); err != nil { // creates the decisions log
		t.Fatal(err)
	}
	f, _ := os.OpenFile(filepath.Join(fx.decisions, decisionsFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"time":"2026-01-02T03:04:05Z","event":"deny","id":"r1","kind":"egress"`)
	if err := b.Refresh(); err != nil {
		t.Fatal(err)
	}
	if r, _ := b.Get("r1"); !r.Pending() {
		t.Fatal("a partial line was applied")
	}
	r1, _ := b.Get("r1")
	f.WriteString(`,"subject":"` + r1.Subject + `","note":"n"}` + "\n")
	f.Close()
	b.Refresh()
	if r, _ := b.Get("r1"); r.Status != StatusDenied || r.Note != "n" {
		t.Fatalf("r1 after the line completed: %+v", r)
	}
	reopened := fx.store(t)
	if len(reopened.Requests()) != 20 || len(reopened.Events()) != 22 {
		t.Errorf("reopened: %d requests, %d events", len(reopened.Requests()), len(reopened.Events()))
	}
}

// TestStoreSkipsTornLines: an unparsable line in the middle of either log
// (a torn write) is skipped with a warning naming its byte offset; Open,
// ls, approve and the server go on (finding 7: one torn line made every
// operator command fail). The next write after a torn last line starts a
// line of its own.
func TestStoreSkipsTornLines(t *testing.T) {
	f := newFixture(t)
	s := f.store(t)
	s.Ask(Ask{Kind: KindEgress, Subject: "a.example.org", Host: "a.example.org"}, testTime)
	appendRaw(t, filepath.Join(f.dir, requestsFile), `{"time":"2026-01-02T03:04:05Z","event":"requ`+"\n")
	s.Ask(Ask{Kind: KindEgress, Subject: "b.example.org", Host: "b.example.org"}, testTime)
	appendRaw(t, filepath.Join(f.dir, requestsFile), `{"torn":`) // a writer died mid-line
	if _, err := s.Ask(Ask{Kind: KindEgress, Subject: "c.example.org", Host: "c.example.org"}, testTime); err != nil {
		t.Fatal(err)
	}

	log, hook := logtest.NewNullLogger()
	s2, err := open(f.dir, f.decisions, log)
	if err != nil {
		t.Fatalf("open with torn lines: %v", err)
	}
	if got := len(s2.Requests()); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
	var warnings []string
	for _, e := range hook.AllEntries() {
		warnings = append(warnings, e.Message)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "unparsable line at byte ") ||
		!strings.Contains(warnings[1], fmt.Sprintf("at byte %d:", tornOffset(t, f))) {
		t.Errorf("warnings %q", warnings)
	}

	f.mustOperator(t, "approve", "r3")
	appendRaw(t, filepath.Join(f.decisions, decisionsFile), "{not json}\n")
	f.mustOperator(t, "deny", "r2")
	if out := f.mustOperator(t, "ls"); !strings.Contains(out, "r3  approved") || !strings.Contains(out, "r2  denied") {
		t.Errorf("ls:\n%s", out)
	}
	if got := fmt.Sprint(f.store(t).ApprovedHosts()); got != "[c.example.org]" {
		t.Errorf("approved hosts %s", got)
	}
}

// tornOffset is the byte offset of the line that starts with {"torn":.
func tornOffset(t *testing.T, f fixture) int {
	return strings.Index(read(t, filepath.Join(f.dir, requestsFile)), `{"torn":`)
}

func appendRaw(t *testing.T, path, text string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestDaemonCannotDecide plays a compromised daemon (finding 13): it owns
// the requests log, so it writes an approval there and a request whose host
// is not its subject's. Neither approves anything.
func TestDaemonCannotDecide(t *testing.T) {
	f := newFixture(t)
	s := f.store(t)
	s.Ask(Ask{Kind: KindEgress, Subject: "pypi.org", Host: "pypi.org"}, testTime)
	forged := []Event{
		{Time: testTime, Type: EventApprove, ID: "r1", Kind: KindEgress, Subject: "pypi.org", Host: "evil-exfil.com"},
		{Time: testTime, Type: EventRequest, ID: "r2", Kind: KindBlock, Subject: "https://pypi.org/simple/", Host: "evil-exfil.com"},
		{Time: testTime, Type: EventRequest, ID: "r3", Kind: KindCapability, Subject: "a GPU", Host: "evil-exfil.com"},
	}
	for _, e := range forged {
		line, _ := json.Marshal(e)
		appendRaw(t, filepath.Join(f.dir, requestsFile), string(line)+"\n")
	}
	config := read(t, f.allowlist.ConfigPath)

	s = f.store(t)
	if r, _ := s.Get("r1"); !r.Pending() || r.Host != "pypi.org" {
		t.Errorf("an approval in the requests log decided r1: %+v", r)
	}
	if hosts := s.ApprovedHosts(); len(hosts) != 0 {
		t.Errorf("approved hosts from the daemon's log: %v", hosts)
	}
	for _, id := range []string{"r2", "r3"} {
		r, _ := s.Get(id)
		if r.Host != "" || !strings.Contains(r.Problem, `the daemon recorded host "evil-exfil.com"`) {
			t.Errorf("%s: host %q, problem %q", id, r.Host, r.Problem)
		}
		_, err := f.operator(t, "approve", id)
		if err == nil || !strings.Contains(err.Error(), "not approving "+id) {
			t.Errorf("approve %s: %v", id, err)
		}
	}
	if got := read(t, f.allowlist.ConfigPath); got != config {
		t.Error("a forged request changed pipelock's config")
	}
	out := f.mustOperator(t, "ls")
	if strings.Contains(out, "evil-exfil.com") || strings.Count(out, "(approve refuses)") != 2 {
		t.Errorf("ls shows the forged host, or not the refusal:\n%s", out)
	}
	f.mustOperator(t, "deny", "r2") // denying is always possible
}

// TestDecisionsOutliveARewrittenRequestsLog: after an approval, a daemon
// that rewrites its log (r1 is now another host) changes neither the
// approved hosts nor what ls says was approved.
func TestDecisionsOutliveARewrittenRequestsLog(t *testing.T) {
	f := newFixture(t)
	s := f.store(t)
	s.Ask(Ask{Kind: KindEgress, Subject: "pypi.org", Host: "pypi.org"}, testTime)
	f.mustOperator(t, "approve", "r1")
	line, _ := json.Marshal(Event{Time: testTime, Type: EventRequest, ID: "r1", Kind: KindEgress, Subject: "evil-exfil.com", Host: "evil-exfil.com"})
	write(t, filepath.Join(f.dir, requestsFile), string(line)+"\n")

	s = f.store(t)
	if got := fmt.Sprint(s.ApprovedHosts()); got != "[pypi.org]" {
		t.Errorf("approved hosts %s", got)
	}
	r, _ := s.Get("r1")
	if r.Status == StatusApproved || !strings.Contains(r.Problem, "rewritten") {
		t.Errorf("r1 after the rewrite: %+v", r)
	}
	if _, err := f.operator(t, "approve", "r1"); err == nil {
		t.Error("approved r1 a second time")
	}
}

// TestStorePendingCap: beyond MaxPending pending requests a new one is
// refused, naming the limit; joining an open one still works, and so does
// a new one once the operator answers (finding 7).
func TestStorePendingCap(t *testing.T) {
	s := newFixture(t).store(t)
	ask := func(i int) (Request, error) {
		h := fmt.Sprintf("h%d.example.org", i)
		return s.Ask(Ask{Kind: KindEgress, Subject: h, Host: h}, testTime)
	}
	for i := range MaxPending {
		if _, err := ask(i); err != nil {
			t.Fatal(err)
		}
	}
	_, err := ask(MaxPending)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("supervise's limit is %d", MaxPending)) {
		t.Fatalf("request %d: %v", MaxPending+1, err)
	}
	if r, err := ask(0); err != nil || r.ID != "r1" {
		t.Errorf("joining r1: %+v, %v", r, err)
	}
	if _, err := s.Decide("r1", false, "", testTime, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ask(MaxPending); err != nil {
		t.Errorf("after a denial: %v", err)
	}
}

// TestStoreFileModes: the decisions are readable by the daemon (another
// user), the requests by their owner only; readers create nothing.
func TestStoreFileModes(t *testing.T) {
	f := newFixture(t)
	s := f.store(t)
	for _, dir := range []string{f.dir, f.decisions} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Open created %s (%v)", dir, err)
		}
	}
	s.Ask(Ask{Kind: KindCapability, Subject: "x"}, testTime)
	s.Decide("r1", true, "", testTime, nil)
	for path, want := range map[string]os.FileMode{
		f.dir: 0o700 | os.ModeDir, filepath.Join(f.dir, requestsFile): 0o600,
		f.decisions: 0o755 | os.ModeDir, filepath.Join(f.decisions, decisionsFile): 0o644,
	} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: %v, %v; want %v", path, fi.Mode(), err, want)
		}
	}
}
