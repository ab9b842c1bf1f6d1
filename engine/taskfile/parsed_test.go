package taskfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dtask-dev/dtask/engine/vars"
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
	// The positions are not kept: they are found again in the text.
	if !reflect.DeepEqual(got.Pos(), want.Pos()) || len(got.Pos()) == 0 {
		t.Fatalf("positions found again differ:\n%v\nwant\n%v", got.Pos(), want.Pos())
	}
	got.pos = want.pos
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

// A kept model places errors as a decoded one does, though it keeps no
// positions: an undefined variable found when resolving names its line
// and column on both runs.
func TestParsedErrorsPlaced(t *testing.T) {
	path, pc := parsedSetup(t, "testdata/spec-example.toml")
	src := "version = 1\n[targets.a]\nsh = \"true\"\n\n[targets.b]\nsh = [\"true\", \"echo ${NOPE}\"]\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for range 2 {
		f := loadParsed(t, path, pc)
		_, err := ResolveFor(f, vars.NewScope(), []string{"b"})
		if err == nil {
			t.Fatal("no error for ${NOPE}")
		}
		msgs = append(msgs, err.Error())
	}
	if _, err := os.Stat(pc.Path); err != nil {
		t.Fatalf("not kept: %v", err)
	}
	want := path + ":6:15: targets.b.sh[1]: undefined variable NOPE"
	for i, m := range msgs {
		if !strings.HasPrefix(m, want) {
			t.Errorf("run %d: %q, want it to start %q", i+1, m, want)
		}
	}
}
