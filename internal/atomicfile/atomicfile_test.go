package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
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
