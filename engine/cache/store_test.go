package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func sampleRecord(target string, i int) *Record {
	k := NewKey(target)
	k.Add("kind", "sh")
	k.Add("def.sh", fmt.Sprintf("%q", "echo\t\"hi\"\n"))
	k.Add(`"quoted label`, "value\r\nwith\x00 bytes")
	k.Add("src src/a.js", fmt.Sprint(i))
	k.Add("empty", "")
	return &Record{
		Target: target, Kind: "sh", Key: k.Sum(),
		Time:     time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		Duration: 1500 * time.Millisecond,
		Lines:    k.Lines(),
		Outputs:  map[string]string{"image": "sha256:abc"},
	}
}

// mustPut records rec in s, ending the test if it cannot.
func mustPut(t testing.TB, s *Store, rec *Record) {
	t.Helper()
	if err := s.Put(rec); err != nil {
		t.Fatal(err)
	}
}

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := OpenStore(filepath.Join(t.TempDir(), ".dtask"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreRoundTrip(t *testing.T) {
	s := openStore(t)
	rec := sampleRecord("lint", 1)
	if _, ok := s.Get(rec.Key); ok {
		t.Fatal("hit in an empty store")
	}
	if _, ok := s.Last("lint"); ok {
		t.Fatal("Last in an empty store")
	}
	mustPut(t, s, rec)
	got, ok := s.Get(rec.Key)
	if !ok {
		t.Fatal("miss after Put")
	}
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, rec)
	}

	// Switching back and forth: both keys stay; Last follows the latest.
	rec2 := sampleRecord("lint", 2)
	s.Put(rec2)
	if _, ok := s.Get(rec.Key); !ok {
		t.Error("first key lost after a second Put")
	}
	if last, ok := s.Last("lint"); !ok || last.Key != rec2.Key {
		t.Errorf("Last = %v, %v; want the second record", last, ok)
	}
	s.Put(sampleRecord("other/name:x", 3))
	if last, ok := s.Last("other/name:x"); !ok || last.Target != "other/name:x" {
		t.Error("Last for a target name with a slash and a colon")
	}
	if last, ok := s.Last("lint"); !ok || last.Key != rec2.Key {
		t.Error("another target's Put moved lint's Last")
	}
	if s.IndexPath() != filepath.Join(s.Dir(), "index") {
		t.Error(s.IndexPath())
	}
	if b, _ := os.ReadFile(filepath.Join(s.Dir(), ".gitignore")); string(b) != "*\n" {
		t.Error("no .gitignore in the store")
	}
}

func TestStoreLongValues(t *testing.T) {
	s := openStore(t)
	k := NewKey("big")
	long := strings.Repeat("{\"a\":1}", 1000)
	k.Add("def.run", long)
	rec := &Record{Target: "big", Key: k.Sum(), Lines: k.Lines()}
	s.Put(rec)
	got, ok := s.Get(rec.Key)
	if !ok {
		t.Fatal("miss")
	}
	if v := got.Lines[2].Value; len(v) > maxValue || !strings.HasPrefix(v, "#sha256:") {
		t.Errorf("long value stored as %d bytes", len(v))
	}
	if d := Diff(got.Lines, k.Lines()); len(d) != 0 {
		t.Errorf("stored record differs from its key: %v", d)
	}
}

func TestStoreCorrupt(t *testing.T) {
	s := openStore(t)
	rec := sampleRecord("t", 1)
	s.Put(rec)
	p := s.recordPath(rec.Key)
	good, _ := os.ReadFile(p)
	flip := append([]byte(nil), good...)
	flip[len(flip)-3] ^= 0x20
	for name, data := range map[string][]byte{
		"truncated": good[:len(good)-5],
		"flipped":   flip,
		"empty":     {},
		"json":      []byte(`{"target":"t"}`),
	} {
		os.WriteFile(p, data, 0o644)
		if _, ok := s.Get(rec.Key); ok {
			t.Errorf("%s record: hit", name)
		}
		if _, ok := s.Last("t"); ok {
			t.Errorf("%s record: Last hit", name)
		}
	}
	// A record filed under the wrong key is a miss too.
	other := sampleRecord("t", 2)
	os.MkdirAll(filepath.Dir(s.recordPath(other.Key)), 0o755)
	os.WriteFile(s.recordPath(other.Key), good, 0o644)
	if _, ok := s.Get(other.Key); ok {
		t.Error("record under another key: hit")
	}
	for _, k := range []string{"", "../../../etc/passwd", "ABCDEF0123", "abc"} {
		if _, ok := s.Get(k); ok {
			t.Errorf("Get(%q) hit", k)
		}
	}
	if err := s.Put(&Record{Target: "t", Key: "../x"}); err == nil {
		t.Error("Put with a bad key")
	}
}

func TestStoreConcurrentPut(t *testing.T) {
	s := openStore(t)
	recs := []*Record{sampleRecord("t", 1), sampleRecord("t", 2)}
	s.Put(recs[0])
	s.Put(recs[1])
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Go(func() {
			for i := range 100 {
				if err := s.Put(recs[(i+w)%2]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, r := range recs {
				if _, ok := s.Get(r.Key); !ok {
					t.Error("a reader saw a missing or torn record")
					return
				}
			}
			if _, ok := s.Last("t"); !ok {
				t.Error("a reader saw a missing or torn Last")
				return
			}
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()
	leftovers, _ := filepath.Glob(filepath.Join(s.Dir(), "records", "*", ".*tmp*"))
	if len(leftovers) != 0 {
		t.Errorf("temp files left: %v", leftovers)
	}
}

// A second Lock waits while the lock is held: until its context ends
// (its deadline, not at once: the error says which), or until the holder
// lets go, and not before.
func TestStoreLock(t *testing.T) {
	s := openStore(t)
	unlock, err := s.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lock while held: %v, want its deadline passed", err)
	}

	var released atomic.Bool
	got := make(chan bool)
	go func() {
		u, err := s.Lock(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- released.Load()
		u()
	}()
	// Give the waiter a chance to be waiting before the release. Were it
	// late, the order checked below would hold anyway: the test would
	// prove less, never fail wrongly.
	time.Sleep(50 * time.Millisecond)
	released.Store(true)
	unlock()
	if !<-got {
		t.Error("waiter got the lock before it was released")
	}
}
