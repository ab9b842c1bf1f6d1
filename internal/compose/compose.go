package compose

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// serviceKeys are the compose service keys dtask maps; any other key is an
// error rather than silently ignored. restart and expose change nothing
// for a service that lives one run.
var serviceKeys = []string{"build", "command", "depends_on", "env_file", "environment", "expose",
	"healthcheck", "image", "ports", "restart", "volumes"}

// buildKeys are the keys of a service's build that a build target takes.
var buildKeys = []string{"args", "context", "dockerfile", "target"}

// topKeys are the top-level keys dtask accepts.
var topKeys = []string{"name", "services", "version", "volumes"}

// Services reads the compose files (relative to dir) and returns their
// services. Values are interpolated by compose's own rules (environment,
// .env beside the file) and escaped so that the task file's interpolation
// leaves them as they are.
func Services(dir string, files []string) (map[string]*taskfile.Service, error) {
	paths := make([]string, len(files))
	for i, f := range files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(dir, f)
		}
		paths[i] = f
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The keys as written: normalising would add defaults (networks).
	raw, err := cli.NewProjectOptions(paths, cli.WithWorkingDirectory(dir), cli.WithOsEnv, cli.WithDotEnv,
		cli.WithName("dtask"), cli.WithNormalization(false), cli.WithConsistency(false))
	if err != nil {
		return nil, err
	}
	model, err := raw.LoadModel(ctx)
	if err != nil {
		return nil, err
	}
	opts, err := cli.NewProjectOptions(paths, cli.WithWorkingDirectory(dir), cli.WithOsEnv, cli.WithDotEnv, cli.WithName("dtask"))
	if err != nil {
		return nil, err
	}
	if err := checkKeys(model, paths, files); err != nil {
		return nil, err
	}
	proj, err := opts.LoadProject(ctx)
	if err != nil {
		return nil, err
	}
	proj, err = proj.WithServicesEnvironmentResolved(true)
	if err != nil {
		return nil, err
	}
	out := map[string]*taskfile.Service{}
	for name, sc := range proj.Services {
		svc, err := service(name, sc)
		if err != nil {
			return nil, fmt.Errorf("%s: service %s: %w", names(files), name, err)
		}
		svc.From = names(files)
		out[name] = svc
	}
	return out, nil
}

func names(files []string) string { return strings.Join(files, ", ") }

// checkKeys refuses keys dtask does not map, naming the key and where it
// is written.
func checkKeys(model map[string]any, paths, files []string) error {
	if ks := unknown(model, topKeys); len(ks) > 0 {
		return unsupported(paths, files, topKeys, ks[0])
	}
	services, _ := model["services"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(services)) {
		svc, _ := services[name].(map[string]any)
		if ks := unknown(svc, serviceKeys); len(ks) > 0 {
			return unsupported(paths, files, serviceKeys, "services", name, ks[0])
		}
		build, _ := svc["build"].(map[string]any)
		if ks := unknown(build, buildKeys); len(ks) > 0 {
			return unsupported(paths, files, buildKeys, "services", name, "build", ks[0])
		}
	}
	return nil
}

// unsupported is the error for the key at path: file:line:col of the
// first file that writes it, the key, and what dtask reads there.
func unsupported(paths, files, known []string, path ...string) error {
	at := names(files)
	for i, p := range paths {
		if loc := keyAt(p, files[i], path...); loc != files[i] {
			at = loc
			break
		}
	}
	key := path[len(path)-1]
	where := "top-level key"
	if len(path) > 1 {
		where = strings.Join(path[:len(path)-1], ".") + ": key"
	}
	return fmt.Errorf("%s: %s %q is not supported by dtask (it reads %s)", at, where, key, strings.Join(known, ", "))
}

// unknown lists m's keys that are neither in known nor extensions (x-).
func unknown(m map[string]any, known []string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(known, k) && !strings.HasPrefix(k, "x-") {
			out = append(out, k)
		}
	}
	return out
}
