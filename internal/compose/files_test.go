package compose

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// servicesWithin is Services, failing the test instead of hanging when
// it does not return: the files it is given may never end.
func servicesWithin(t *testing.T, dir string, files ...string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := Services(dir, files)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("Services(%v) still reading after 20s", files)
		return nil
	}
}

// TestServicesReadsNoHostileFile: -l and -n read compose files, so no file
// compose would read — the compose file, .env, env_file, include,
// extends, label_file — may hang dtask (a FIFO), fill its memory
// (/dev/zero) or be outside the project (/etc/shadow, or a link to it).
func TestServicesReadsNoHostileFile(t *testing.T) {
	svc := "services:\n  db:\n    image: redis\n"
	for _, tc := range []struct {
		name, yaml, want string
		setup            func(dir string) error
	}{
		{"env_file FIFO", svc + "    env_file: fifo\n", `compose.yaml:4:5: services.db: env_file "fifo" is not a regular file`, mkfifo("fifo")},
		{"env_file /dev/zero", svc + "    env_file: /dev/zero\n", `compose.yaml:4:5: services.db: env_file "/dev/zero" is outside the project`, nil},
		{"env_file outside", svc + "    env_file: [/etc/hostname]\n", `env_file "/etc/hostname" is outside the project`, nil},
		{"env_file link outside", svc + "    env_file: [{path: shadow.env}]\n", `env_file "shadow.env" is outside the project`, symlink("/etc/shadow", "shadow.env")},
		{"env_file too large", svc + "    env_file: big.env\n", `env_file "big.env" is larger than the limit of 4 MiB`, bigFile("big.env")},
		{"compose file FIFO", "", `compose.yaml is not a regular file`, mkfifo("compose.yaml")},
		{".env FIFO", svc, `.env is not a regular file`, mkfifo(".env")},
		{"include", "include: [fifo]\n" + svc, `compose.yaml:1:1: top-level key "include" is not supported`, mkfifo("fifo")},
		{"extends", svc + "    extends: {file: fifo, service: x}\n", `compose.yaml:4:5: services.db: key "extends" is not supported`, mkfifo("fifo")},
		{"label_file", svc + "    label_file: fifo\n", `compose.yaml:4:5: services.db: key "label_file" is not supported`, mkfifo("fifo")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				if err := tc.setup(dir); err != nil {
					t.Fatal(err)
				}
			}
			if tc.yaml != "" {
				write(t, dir, "compose.yaml", tc.yaml)
			}
			err := servicesWithin(t, dir, "compose.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func mkfifo(name string) func(dir string) error {
	return func(dir string) error { return syscall.Mkfifo(filepath.Join(dir, name), 0o644) }
}

func symlink(target, name string) func(dir string) error {
	return func(dir string) error { return os.Symlink(target, filepath.Join(dir, name)) }
}

func bigFile(name string) func(dir string) error {
	return func(dir string) error {
		return os.WriteFile(filepath.Join(dir, name), []byte(strings.Repeat("A=1\n", 1<<20+1)), 0o644)
	}
}

// TestServicesDotEnv: .env beside the compose file sets variables for its
// interpolation, as in docker compose; an env_file that is optional and
// missing is no error.
func TestServicesDotEnv(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".env", "IMG=redis:7\n")
	write(t, dir, "compose.yaml", "services:\n  db:\n    image: ${IMG}\n    env_file: [{path: none.env, required: false}]\n")
	svcs, err := Services(dir, []string{"compose.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if got := svcs["db"].Image; got != "redis:7" {
		t.Errorf("image = %q, want redis:7 from .env", got)
	}
}
