package taskfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFind(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(p string) {
		t.Helper()
		if err := os.WriteFile(p, []byte("version = 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing yet (t.TempDir's parents have no task file either).
	if _, err := Find(deep); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find with no task file: %v", err)
	}
	write(filepath.Join(root, "dtask.toml"))
	if got, err := Find(deep); err != nil || got != filepath.Join(root, "dtask.toml") {
		t.Errorf("Find = %q, %v", got, err)
	}
	// A nearer folder wins over a farther one.
	write(filepath.Join(root, "a", "dtask.toml"))
	if got, _ := Find(deep); got != filepath.Join(root, "a", "dtask.toml") {
		t.Errorf("Find = %q, want the nearer one", got)
	}
	// Taskfile.toml wins over dtask.toml in the same folder.
	write(filepath.Join(root, "a", "Taskfile.toml"))
	if got, _ := Find(deep); got != filepath.Join(root, "a", "Taskfile.toml") {
		t.Errorf("Find = %q, want Taskfile.toml", got)
	}
	// A folder named like a task file is not one.
	if err := os.Mkdir(filepath.Join(deep, "Taskfile.toml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, _ := Find(deep); got != filepath.Join(root, "a", "Taskfile.toml") {
		t.Errorf("Find = %q, took a folder", got)
	}
	// A relative start folder gives an absolute path.
	wd, _ := os.Getwd()
	t.Chdir(deep)
	if got, _ := Find("."); got != filepath.Join(root, "a", "Taskfile.toml") {
		t.Errorf("Find(.) = %q", got)
	}
	t.Chdir(wd)
}
