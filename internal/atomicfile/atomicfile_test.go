package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesWholeAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "index.json")
	for _, data := range []string{"first", "second"} {
		if err := Write(path, []byte(data), Beside(path)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != data {
			t.Errorf("content %q, want %q", b, data)
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("%d files in the folder, want only the written one", len(ents))
	}
	boom := errors.New("no temp file")
	if err := Write(path, nil, func() (*os.File, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
}

// An error names the file asked for, not the temporary one beside it,
// which is gone by the time the message is read.
func TestWriteErrorNamesPath(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "report.xml")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	err := Write(folder, []byte("x"), Beside(folder))
	if err == nil || !strings.Contains(err.Error(), "write "+folder+":") || strings.Contains(err.Error(), ".report.xml-") {
		t.Errorf("rename over a folder: err = %v, want it to name %s only", err, folder)
	}
	gone := filepath.Join(dir, "gone", "r.xml")
	create := func() (*os.File, error) { return os.CreateTemp(filepath.Join(dir, "nowhere"), ".r.xml-*") }
	err = Write(gone, []byte("x"), create)
	if err == nil || !strings.Contains(err.Error(), "write "+gone+":") || strings.Contains(err.Error(), ".r.xml-") {
		t.Errorf("temporary file not created: err = %v, want it to name %s only", err, gone)
	}
}
