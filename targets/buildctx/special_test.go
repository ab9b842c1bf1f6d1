package buildctx

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadRefusesSpecialFiles: -n lists a build's context, so a Dockerfile
// or .dockerignore that is a FIFO (an open that waits for a writer) or a
// link to a device (a read that never ends) is an error at once.
func TestLoadRefusesSpecialFiles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(dir string) error
		want  string
	}{
		{"Dockerfile FIFO", func(dir string) error { return syscall.Mkfifo(filepath.Join(dir, "Dockerfile"), 0o644) }, "Dockerfile is not a regular file"},
		{"Dockerfile /dev/zero", func(dir string) error { return os.Symlink("/dev/zero", filepath.Join(dir, "Dockerfile")) }, "Dockerfile is not a regular file"},
		{".dockerignore FIFO", func(dir string) error {
			os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM x\n"), 0o644)
			return syscall.Mkfifo(filepath.Join(dir, ".dockerignore"), 0o644)
		}, "reading .dockerignore: open " + ".dockerignore: not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tc.setup(dir); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { _, err := Load(dir, ""); done <- err }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), dir+"/", ""), tc.want) {
					t.Errorf("err = %v, want %q", err, tc.want)
				}
			case <-time.After(time.Minute):
				t.Fatal("Load hung: still reading after a minute")
			}
		})
	}
}
