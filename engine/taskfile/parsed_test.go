package taskfile

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// parsedSetup copies a task file into a temporary folder with a state
// folder beside it.
func parsedSetup(t *testing.T, src string) (path string, pc *Parsed) {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "Taskfile.toml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ".dtask"), 0o700); err != nil {
		t.Fatal(err)
	}
	return path, &Parsed{Path: filepath.Join(dir, ".dtask", "taskfile"), Build: "test 1"}
}

func loadParsed(t *testing.T, path string, pc *Parsed) *File {
	t.Helper()
	f, err := LoadWith(path, Options{Parsed: pc})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The kept model is the one decoding gives, and it is what the next load
// returns: a kept model altered on purpose shows that it was used.
func TestParsedKeptAndUsed(t *testing.T) {
	path, pc := parsedSetup(t, "testdata/spec-example.toml")
	want := loadParsed(t, path, pc)
	if _, err := os.Stat(pc.Path); err != nil {
		t.Fatalf("not kept: %v", err)
	}
	got := loadParsed(t, path, pc)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("kept model differs:\n%+v\nwant\n%+v", got, want)
	}
	data, _ := os.ReadFile(path)
	got.Default = "changed"
	pc.save(got.Path, got.name, data, got)
	if f := loadParsed(t, path, pc); f.Default != "changed" {
		t.Errorf("the kept model was not used: default %q", f.Default)
	}
}

// An edit, another build, a damaged kept file: each is decoded afresh.
func TestParsedMisses(t *testing.T) {
	path, pc := parsedSetup(t, "testdata/spec-example.toml")
	loadParsed(t, path, pc)
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(data, "\n[targets.added]\nsh = \"true\"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if f := loadParsed(t, path, pc); f.Targets["added"] == nil {
		t.Error("an edited file was served from the kept model")
	}
	other := &Parsed{Path: pc.Path, Build: "test 2"}
	if other.load(path, "x", data) != nil {
		t.Error("a model kept by another build was used")
	}
	kept, _ := os.ReadFile(pc.Path)
	os.WriteFile(pc.Path, kept[:len(kept)/2], 0o600)
	if f := loadParsed(t, path, pc); f.Targets["added"] == nil {
		t.Error("a damaged kept model was used")
	}
}

// Nothing is kept without the state folder, nor for a model gob does not
// carry exactly (an empty list, which a key tells from none).
func TestParsedNotKept(t *testing.T) {
	path, pc := parsedSetup(t, "testdata/spec-example.toml")
	os.Remove(filepath.Dir(pc.Path))
	loadParsed(t, path, pc)
	if _, err := os.Stat(filepath.Dir(pc.Path)); !os.IsNotExist(err) {
		t.Errorf("the state folder was made: %v", err)
	}
	path, pc = parsedSetup(t, "testdata/spec-example.toml")
	os.WriteFile(path, []byte("version = 1\n[targets.a]\nbuild = { context = \".\", tags = [] }\n"), 0o600)
	f := loadParsed(t, path, pc)
	if f.Targets["a"].Build.Tags == nil {
		t.Fatal("tags = [] decoded as none")
	}
	if _, err := os.Stat(pc.Path); !os.IsNotExist(err) {
		t.Errorf("a model gob cannot carry was kept: %v", err)
	}
}
