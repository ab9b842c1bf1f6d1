package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A symbolic link planted where dtask keeps its locks must not make it
// create files elsewhere.
func TestLocksDoNotFollowSymlinks(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(root, "outside")
	os.Mkdir(outside, 0o755)
	s, err := OpenStore(filepath.Join(root, ".dtask"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(s.Dir(), "locks")); err != nil {
		t.Fatal(err)
	}
	if unlock, err := s.LockTarget(context.Background(), "build", func() {}); err == nil {
		unlock()
		t.Error("LockTarget went through a symlinked locks folder")
	}
	os.Remove(filepath.Join(s.Dir(), "locks"))

	// A link in place of the lock file itself.
	os.Mkdir(filepath.Join(s.Dir(), "locks"), 0o700)
	victim := filepath.Join(outside, "created-by-dtask")
	if err := os.Symlink(victim, filepath.Join(s.Dir(), "locks", nameHash("build"))); err != nil {
		t.Fatal(err)
	}
	if unlock, err := s.LockTarget(context.Background(), "build", func() {}); err == nil {
		unlock()
		t.Error("LockTarget followed a symlinked lock file")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("files created outside the state folder: %v", ents)
	}
}

// A state folder that is a link to a folder anyone can write to is
// refused; a link to the user's own private folder is fine.
func TestStateDirSymlink(t *testing.T) {
	root := t.TempDir()
	open := filepath.Join(root, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	link := filepath.Join(root, ".dtask")
	os.Symlink(open, link)
	if _, err := OpenStore(link); err == nil || !strings.Contains(err.Error(), "others can write") {
		t.Errorf("OpenStore through a link to a world-writable folder: %v", err)
	}
	private := filepath.Join(root, "private")
	os.Mkdir(private, 0o700)
	link2 := filepath.Join(root, ".dtask2")
	os.Symlink(private, link2)
	if _, err := OpenStore(link2); err != nil {
		t.Errorf("OpenStore through a link to a private folder: %v", err)
	}
}

// Long names (254 bytes and more, or long UTF-8) lock and record like
// short ones.
func TestLongTargetNames(t *testing.T) {
	s := openStore(t)
	for _, name := range []string{strings.Repeat("n", 300), strings.Repeat("é", 150), "a/../../b"} {
		unlock, err := s.LockTarget(context.Background(), name, func() { t.Errorf("%.20s: waiting for nobody", name) })
		if err != nil {
			t.Fatalf("%.20s…: %v", name, err)
		}
		unlock()
		rec := sampleRecord(name, 1)
		if err := s.Put(rec); err != nil {
			t.Fatalf("%.20s…: %v", name, err)
		}
		if got, ok := s.Last(name); !ok || got.Key != rec.Key {
			t.Errorf("%.20s…: Last = %v, %v", name, got, ok)
		}
	}
}

// Records keep a keyed hash of a secret: not the bare SHA-256 a guess can
// be checked against, different in another cache, stable in one.
func TestSecretsKeyedHash(t *testing.T) {
	const secret = "hunter2"
	mark := func(s *Store) string {
		k := NewKey("t")
		k.Redact = func(v string) string { return strings.ReplaceAll(v, secret, "***") }
		k.Secret = s.SecretKey()
		k.Add("env.PASSWORD", secret)
		return k.Stored()[2].Value
	}
	a, b := openStore(t), openStore(t)
	ma := mark(a)
	bare := sha256.Sum256([]byte(secret))
	if strings.Contains(ma, secret) || strings.Contains(ma, hex.EncodeToString(bare[:8])) {
		t.Errorf("stored secret %q is guessable", ma)
	}
	if !strings.HasPrefix(ma, "#secret:") || ma != mark(a) {
		t.Errorf("marks in one cache differ or are not marks: %q %q", ma, mark(a))
	}
	again, _ := OpenStore(a.Dir())
	if mark(again) != ma {
		t.Error("the key changed when the store was opened again")
	}
	if mark(b) == ma {
		t.Error("two caches hash a secret alike")
	}
}

// State files are 0600 and folders 0700, whatever the umask.
func TestStatePermissions(t *testing.T) {
	s := openStore(t)
	s.SecretKey()
	mustPut(t, s, sampleRecord("t", 1))
	unlock, err := s.LockTarget(context.Background(), "t", func() {})
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	ix := OpenIndex(s.IndexPath())
	f := write(t, t.TempDir(), "a", "a", 0)
	ix.Hash(f)
	if err := ix.Save(); err != nil {
		t.Fatal(err)
	}
	filepath.Walk(s.Dir(), func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(fileMode)
		if fi.IsDir() {
			want = dirMode
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
}

// A secret holding a character JSON escapes (& < > " \) is still found in
// a JSON definition line and kept as a mark, not as its escaped text.
func TestSecretsInJSONLines(t *testing.T) {
	s := openStore(t)
	for _, secret := range []string{`s3cr&t<x>`, `quo"te\back`} {
		k := NewKey("t")
		k.Redact = func(v string) string { return strings.ReplaceAll(v, secret, "***") }
		k.Secret = s.SecretKey()
		def, _ := json.Marshal(map[string]any{"env": map[string]string{"TOKEN": secret}, "cmd": []string{"x"}})
		k.Add("def.run", string(def))
		k.Add("def.plain", "no secret here")
		st := k.Stored()
		if !strings.HasPrefix(st[2].Value, "#secret:") {
			t.Errorf("%q: stored %q", secret, st[2].Value)
		}
		if st[3].Value != "no secret here" {
			t.Errorf("a line without a secret was changed: %q", st[3].Value)
		}
	}
}

// The files of an Attached folder go with the records that name them:
// --cache prune (Sweep) removes those no record names, older than the
// grace period, and keeps the rest.
func TestPruneAttached(t *testing.T) {
	s := openStore(t)
	s.Attached = []Attached{{Dir: "reports", Prefix: "report:"}}
	rec := sampleRecord("t", 1)
	rec.Outputs = map[string]string{"report:/out/junit.xml": "kept.xml"}
	mustPut(t, s, rec)
	for name, age := range map[string]time.Duration{"kept.xml": time.Hour, "orphan.xml": time.Hour, "fresh.xml": 0} {
		write(t, filepath.Join(s.Dir(), "reports"), name, "<testsuite/>", age)
	}
	if pr := s.Prune(Limits{Sweep: true}); pr.Attached != 1 {
		t.Errorf("removed %d attached files, want 1", pr.Attached)
	}
	for name, want := range map[string]bool{"kept.xml": true, "orphan.xml": false, "fresh.xml": true} {
		if _, err := os.Stat(filepath.Join(s.Dir(), "reports", name)); (err == nil) != want {
			t.Errorf("%s: present = %v, want %v", name, err == nil, want)
		}
	}
}
