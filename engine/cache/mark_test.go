package cache

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// A folder an earlier dtask filled (its parsed task file among the
// rest) is dtask's: a second dtask that started on the same new folder
// and found the mark not yet there must not refuse it.
func TestClaimAdoptsTheParsedTaskFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "taskfile"), []byte("x"), fileMode); err != nil {
		t.Fatal(err)
	}
	if err := claim(dir); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if !Marked(dir) {
		t.Error("the folder is not marked")
	}
}

// Many dtasks claiming one new folder at once all get it, and the mark
// is never seen torn.
func TestClaimConcurrently(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".dtask")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 32 {
		wg.Add(2)
		go func() { defer wg.Done(); errs <- claim(dir) }()
		go func() {
			defer wg.Done()
			if _, err := os.Stat(filepath.Join(dir, MarkName)); err == nil && !Marked(dir) {
				errs <- os.ErrInvalid // a mark present but not whole
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
