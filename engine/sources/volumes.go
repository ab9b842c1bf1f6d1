package sources

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// runSources: the host paths the container and its services bind-mount.
// A service's volumes are relative to the task file's folder (services
// belong to no target); the target's to its own folder.
func runSources(f *taskfile.File, t *taskfile.Target, _ string) (Set, error) {
	var s Set
	paths, err := HostPaths(f.TargetDir(t), t.Run.Volumes)
	if err != nil {
		return nil, err
	}
	svc, err := serviceSources(f, t)
	return append(s, append(roots(paths), svc...)...), err
}

// serviceSources: the host paths the target's services bind-mount (a
// schema an init loads), relative to the task file's folder (services
// belong to no target).
func serviceSources(f *taskfile.File, t *taskfile.Target) (Set, error) {
	var paths []string
	for _, name := range t.Services {
		svc := f.Services[name]
		if svc == nil {
			continue // the task file's checks name it
		}
		sp, err := HostPaths(f.Dir, svc.Volumes)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", name, err)
		}
		paths = append(paths, sp...)
	}
	return roots(paths), nil
}

func roots(paths []string) Set {
	var s Set
	for _, p := range paths {
		s = append(s, Root{Path: p})
	}
	return s
}

// HostPaths returns the absolute host side of each bind mount among vols
// (SOURCE:TARGET[:OPTIONS]), relative paths taken from dir. A source that
// is not a path (no "/" and no leading ".") is a named volume: not a file.
func HostPaths(dir string, vols []string) ([]string, error) {
	var out []string
	for _, v := range vols {
		src, ok, err := HostPath(dir, v)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, src)
		}
	}
	return out, nil
}

// HostPath returns the absolute host path a volume spec binds, and false
// for a named volume.
func HostPath(dir, vol string) (string, bool, error) {
	src, rest, ok := strings.Cut(vol, ":")
	if !ok || src == "" || rest == "" {
		return "", false, fmt.Errorf("volume %q: want SOURCE:TARGET[:OPTIONS]", vol)
	}
	if !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, ".") && !strings.Contains(src, "/") {
		return "", false, nil
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(dir, src)
	}
	return filepath.Clean(src), true, nil
}
