package project

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/regularfile"
)

// Secret reads a [secrets] value from its env var or file.
func (p *Project) Secret(name string) (string, error) { return readSecret(p.File, name) }

// readSecret reads a [secrets] value of f from its env var or file.
func readSecret(f *taskfile.File, name string) (string, error) {
	ref, ok := f.Secrets[name]
	if !ok {
		return "", fmt.Errorf("unknown secret %q", name)
	}
	if ref.Env != "" {
		v, ok := os.LookupEnv(ref.Env)
		if !ok {
			return "", fmt.Errorf("secret %s: environment variable %s is not set", name, ref.Env)
		}
		return v, nil
	}
	path := ref.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(f.Dir, path)
	}
	b, err := readSecretFile(path)
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// maxSecretSize bounds a secret file: secrets are read for masking by
// -n too, which must never hang (file = "/dev/zero") or fill memory.
const maxSecretSize = 1 << 20

// readSecretFile reads a regular file of at most maxSecretSize bytes.
func readSecretFile(path string) ([]byte, error) {
	b, err := regularfile.Read(path, maxSecretSize)
	if errors.Is(err, regularfile.ErrNotRegular) {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return b, err
}
