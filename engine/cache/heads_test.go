package cache

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// reopen is a second run's store on the same folder.
func reopen(t *testing.T, s *Store) *Store {
	t.Helper()
	s2, err := OpenStore(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	return s2
}

// A run's hits are served by the heads file, one read, without the record
// files; a key not in it is looked up in records/ as before.
func TestHeadsServeHits(t *testing.T) {
	s := openStore(t)
	a, b := sampleRecord("a", 1), sampleRecord("b", 1)
	for _, r := range []*Record{a, b} {
		mustPut(t, s, r)
	}
	if err := s.SaveHeads(); err != nil {
		t.Fatal(err)
	}
	records := filepath.Join(s.Dir(), "records")
	if err := os.Rename(records, records+".away"); err != nil {
		t.Fatal(err)
	}
	s2 := reopen(t, s)
	got, ok := s2.Hit(a.Key)
	want := *a
	want.Lines = nil
	if !ok || !reflect.DeepEqual(*got, want) {
		t.Fatalf("hit from heads = %+v, %v; want %+v", got, ok, want)
	}
	if err := os.Rename(records+".away", records); err != nil {
		t.Fatal(err)
	}
	// b's new key is in records/ only: a hit all the same, and the next
	// heads file names it instead of the old one.
	b2 := sampleRecord("b", 2)
	if err := s2.Put(b2); err != nil {
		t.Fatal(err)
	}
	s3 := reopen(t, s2)
	if _, ok := s3.Hit(b2.Key); !ok {
		t.Fatal("a key missing from heads: miss")
	}
	if err := s3.SaveHeads(); err != nil {
		t.Fatal(err)
	}
	s4 := reopen(t, s3)
	if s4.inHeads(b.Key, true) || !s4.inHeads(b2.Key, true) || !s4.inHeads(a.Key, true) {
		t.Errorf("heads after b changed: %v", s4.loadHeads().read)
	}
}

// storeWithHead is a store whose heads file names one record.
func storeWithHead(t *testing.T) (*Store, *Record) {
	t.Helper()
	s := openStore(t)
	a := sampleRecord("a", 1)
	mustPut(t, s, a)
	if err := s.SaveHeads(); err != nil {
		t.Fatal(err)
	}
	return s, a
}

// A run that changed no target's latest key does not rewrite the file.
func TestHeadsNotRewrittenWhenUnchanged(t *testing.T) {
	s, a := storeWithHead(t)
	s2 := reopen(t, s)
	if _, ok := s2.Hit(a.Key); !ok {
		t.Fatal("miss")
	}
	os.Remove(s.headsPath())
	if err := s2.SaveHeads(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.headsPath()); !os.IsNotExist(err) {
		t.Errorf("heads rewritten by a run that changed nothing: %v", err)
	}
}

// A damaged heads file is ignored: hits come from the record files.
func TestHeadsDamaged(t *testing.T) {
	s, a := storeWithHead(t)
	good, err := os.ReadFile(s.headsPath())
	if err != nil {
		t.Fatal(err)
	}
	flip := append([]byte(nil), good...)
	flip[len(flip)-3] ^= 0x20
	for name, data := range map[string][]byte{
		"truncated": good[:len(good)-5], "flipped": flip, "empty": {}, "other": []byte("x\ty\tz\n"),
	} {
		os.WriteFile(s.headsPath(), data, 0o600)
		s2 := reopen(t, s)
		if len(s2.loadHeads().read) != 0 {
			t.Errorf("%s heads file: read", name)
		}
		if _, ok := s2.Hit(a.Key); !ok {
			t.Errorf("%s heads file: miss", name)
		}
	}
}

// A header survives the heads file's fields whatever its target's name
// holds (tabs, newlines, a leading quote or @) and with or without outputs.
func TestHeadFieldsRoundTrip(t *testing.T) {
	for _, name := range []string{"a", "tab\there", "new\nline", `"quoted`, "@at", ""} {
		for _, outputs := range []map[string]string{nil, {"image": "sha256:abc", "x\ty": "\"v\""}} {
			rec := sampleRecord(name, 1)
			rec.Outputs = outputs
			h := headerOf(rec)
			got, ok := parseHead(h.Key, formatHead(h))
			if !ok || !reflect.DeepEqual(got, h.record()) {
				t.Errorf("%q, %v: got %+v, %v; want %+v", name, outputs, got, ok, h)
			}
		}
	}
	good := formatHead(headerOf(sampleRecord("a", 1)))
	for what, line := range map[string]string{
		"a bad time": "a\tsh\tnot a time\t1\t2\t", "five fields": "a\tsh\t1\t2\t3", "seven fields": good + "\tx",
	} {
		if _, ok := parseHead("k", line); ok {
			t.Errorf("%s was accepted", what)
		}
	}
}

// A target's latest key lives in the heads file, not a file per target:
// Put creates no last/ file, and after SaveHeads another run's store finds
// the latest record and explains a change against it. A last/ file an
// older dtask wrote still counts when the heads file lacks the target.
func TestLatestFromHeads(t *testing.T) {
	s := openStore(t)
	a := sampleRecord("a", 1)
	mustPut(t, s, a)
	if _, err := os.Stat(filepath.Join(s.Dir(), "last")); !os.IsNotExist(err) {
		t.Errorf("Put made last/: %v", err)
	}
	if err := s.SaveHeads(); err != nil {
		t.Fatal(err)
	}
	s2 := reopen(t, s)
	if got, ok := s2.Last("a"); !ok || got.Key != a.Key {
		t.Fatalf("Last from heads = %v, %v", got, ok)
	}
	cur := sampleRecord("a", 2).Lines
	if reasons, ok := s2.Why("a", &Key{lines: cur}); !ok || len(reasons) == 0 {
		t.Errorf("Why from heads = %v, %v", reasons, ok)
	}
	old := sampleRecord("b", 1)
	if err := s2.Put(old); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(s.Dir(), "last"), 0o700)
	os.WriteFile(s.lastPath("b"), []byte(old.Key+"\n"), 0o600)
	if got, ok := reopen(t, s).Last("b"); !ok || got.Key != old.Key {
		t.Errorf("Last from an older last/ file = %v, %v", got, ok)
	}
}

// Within a run, a Put makes its key the target's latest at once (what
// Prune keeps), though the heads file as read named another.
func TestHeadsLatestChangesWithinARun(t *testing.T) {
	s, a := storeWithHead(t)
	s2 := reopen(t, s)
	if !s2.inHeads(a.Key, true) || !s2.inHeads(a.Key, false) {
		t.Fatal("the heads file's key is not its target's latest")
	}
	a2 := sampleRecord("a", 2)
	if err := s2.Put(a2); err != nil {
		t.Fatal(err)
	}
	if s2.inHeads(a.Key, false) || !s2.inHeads(a2.Key, false) || s2.inHeads(a2.Key, true) {
		t.Error("after a Put the old key is still latest, or the new one counts as read")
	}
	if key, ok := s2.LatestKey("a"); !ok || key != a2.Key {
		t.Errorf("LatestKey = %s, %v; want %s", key, ok, a2.Key)
	}
}
