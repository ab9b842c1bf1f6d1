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

// serviceKeys are the compose service keys dtask maps (build only to say
// what to do instead); any other key is an
// error rather than silently ignored. restart and expose change nothing
// for a service that lives one run.
var serviceKeys = []string{"build", "command", "depends_on", "env_file", "environment", "expose",
	"healthcheck", "image", "ports", "restart", "volumes"}

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
	if err := checkKeys(model, names(files)); err != nil {
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

// checkKeys refuses keys dtask does not map, naming the key and the file.
func checkKeys(model map[string]any, file string) error {
	for _, k := range slices.Sorted(maps.Keys(model)) {
		if !slices.Contains(topKeys, k) && !strings.HasPrefix(k, "x-") {
			return fmt.Errorf("%s: top-level key %q is not supported by dtask (it reads %s)", file, k, strings.Join(topKeys, ", "))
		}
	}
	services, _ := model["services"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(services)) {
		svc, _ := services[name].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(svc)) {
			if !slices.Contains(serviceKeys, k) && !strings.HasPrefix(k, "x-") {
				return fmt.Errorf("%s: services.%s: key %q is not supported by dtask (it reads %s)", file, name, k, strings.Join(serviceKeys, ", "))
			}
		}
	}
	return nil
}
