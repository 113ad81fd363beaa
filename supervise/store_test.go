package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestStoreAskDedupes(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
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
	s, _ := Open(t.TempDir())
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
	dir := t.TempDir()
	a, _ := Open(dir)
	b, _ := Open(dir)
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

	f, _ := os.OpenFile(filepath.Join(dir, auditFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"time":"2026-01-02T03:04:05Z","event":"deny","id":"r1"`)
	if err := b.Refresh(); err != nil {
		t.Fatal(err)
	}
	if r, _ := b.Get("r1"); !r.Pending() {
		t.Fatal("a partial line was applied")
	}
	f.WriteString(",\"note\":\"n\"}\n")
	f.Close()
	b.Refresh()
	if r, _ := b.Get("r1"); r.Status != StatusDenied || r.Note != "n" {
		t.Fatalf("r1 after the line completed: %+v", r)
	}
	reopened, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(reopened.Requests()) != 20 || len(reopened.Events()) != 21 {
		t.Errorf("reopened: %d requests, %d events", len(reopened.Requests()), len(reopened.Events()))
	}
}
