package engine

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/dtask-dev/dtask/engine/cache"
)

// teamStore plays a team cache tiered behind the local store: records put
// by one runner are found by another with an empty local store.
type teamStore struct {
	local  *cache.Store
	mu     sync.Mutex
	shared map[string]*Record
}

func (s *teamStore) Hit(key string) (*Record, bool) {
	if rec, ok := s.local.Hit(key); ok {
		return rec, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.shared[key]
	if !ok {
		return nil, false
	}
	cp := *rec
	cp.From = "remote cache"
	return &cp, true
}

func (s *teamStore) Put(rec *Record) error {
	s.mu.Lock()
	s.shared[rec.Key] = rec
	s.mu.Unlock()
	return s.local.Put(rec)
}

func (s *teamStore) Why(target string, cur *cache.Key) ([]string, bool) {
	return s.local.Why(target, cur)
}

func TestRecordsGoThroughTheRecordStore(t *testing.T) {
	f := graph(t, "app: lib", "lib:")
	w := newWorld()
	w.def["lib"], w.def["app"] = "v1", "v1"
	shared := map[string]*Record{}
	a := newRunner(t, f, w)
	a.Records = &teamStore{local: a.Store, shared: shared}
	a.Redact = func(s string) string { return strings.ReplaceAll(s, "app", "***") }
	if _, err := a.Run(context.Background(), []string{"app"}); err != nil {
		t.Fatal(err)
	}
	if len(shared) != 2 {
		t.Fatalf("%d records published, want 2", len(shared))
	}
	for _, rec := range shared {
		if rec.Target == "app" && rec.Log != "running ***\n" {
			t.Errorf("app's log %q, want its output masked", rec.Log)
		}
	}
	// Another machine: an empty local store, the same shared records.
	b := newRunner(t, f, w)
	b.Records = &teamStore{local: b.Store, shared: shared}
	b.Opts.DryRun = true
	res, err := b.Run(context.Background(), []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != Cached || r.Reason != "up to date (remote cache)" {
			t.Errorf("%s: %s %q, want cached from the remote cache", r.Target, r.Status, r.Reason)
		}
	}
}

func TestLogTailStartsAtAWholeLine(t *testing.T) {
	var l logTail
	secret := "s3cr3t"
	l.Write([]byte(strings.Repeat("x", logTailSize-3) + secret + "\nafter " + secret + "\n"))
	got := l.masked(func(s string) string { return strings.ReplaceAll(s, secret, "***") })
	if got != "after ***\n" {
		t.Fatalf("tail %q", got)
	}
	if (&logTail{}).masked(nil) != "" {
		t.Fatal("an empty tail is not empty")
	}
	var unmasked logTail
	unmasked.Write([]byte("token\n"))
	if unmasked.masked(nil) != "" {
		t.Fatal("a tail without a masker was kept")
	}
}
