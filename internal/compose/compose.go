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
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

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
// .env beside the first file) and escaped so that the task file's
// interpolation leaves them as they are. Relative paths in the files are
// relative to the first file's folder, as in docker compose.
func Services(dir string, files []string) (map[string]*taskfile.Service, error) {
	return Loader{}.Services(dir, files)
}

// Loader reads compose files, saying through Warn (when set) what compose
// would have warned about: variables that are not set.
type Loader struct {
	Warn func(msg string)
}

// Services is the package's Services, with warnings.
func (l Loader) Services(dir string, files []string) (map[string]*taskfile.Service, error) {
	paths := make([]string, len(files))
	for i, f := range files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(dir, f)
		}
		paths[i] = f
	}
	// -l and -n read compose files too: nothing compose reads may hang,
	// fill memory or be outside the project.
	root := taskfile.RootOf(dir)
	if err := checkComposeFiles(root, paths, files); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := checkKeys(ctx, paths, files); err != nil {
		return nil, err
	}
	unset := &unsetVars{}
	proj, err := load(ctx, paths, cli.WithoutEnvironmentResolution,
		cli.WithLoadOptions(func(o *loader.Options) {
			if o.Interpolate != nil { // nil when compose only lists the files
				o.Interpolate.Substitute = unset.substitute
			}
		}))
	if err != nil {
		return nil, inFiles(err, paths, files)
	}
	if l.Warn != nil {
		for _, w := range unset.warnings(paths, files) {
			l.Warn(w)
		}
	}
	if err := checkEnvFiles(root, proj, paths, files); err != nil {
		return nil, err
	}
	if proj, err = proj.WithServicesEnvironmentResolved(true); err != nil {
		return nil, inFiles(err, paths, files)
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

// options are how dtask has compose read files: from the first file's
// folder with its .env; never include, extends or label_file (refused by
// checkKeys, which must see them before anything reads what they name).
func options(paths []string, more ...cli.ProjectOptionsFn) (*cli.ProjectOptions, error) {
	fns := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(filepath.Dir(paths[0])), cli.WithOsEnv,
		cli.WithEnvFiles(), cli.WithDotEnv, cli.WithName("dtask"), cli.WithoutLabelsResolution,
		cli.WithLoadOptions(func(o *loader.Options) { o.SkipInclude, o.SkipExtends = true, true })}
	return cli.NewProjectOptions(paths, append(fns, more...)...)
}

// load reads the project the files describe.
func load(ctx context.Context, paths []string, more ...cli.ProjectOptionsFn) (*types.Project, error) {
	opts, err := options(paths, more...)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(ctx)
}

func names(files []string) string { return strings.Join(files, ", ") }

// checkKeys refuses keys dtask does not map, naming the key and where it
// is written. It reads the files' keys as written: no interpolation, no
// normalising (which would add defaults such as networks).
func checkKeys(ctx context.Context, paths, files []string) error {
	raw, err := options(paths, cli.WithInterpolation(false), cli.WithNormalization(false),
		cli.WithConsistency(false), cli.WithoutEnvironmentResolution)
	if err != nil {
		return inFiles(err, paths, files)
	}
	model, err := raw.LoadModel(ctx)
	if err != nil {
		return inFiles(err, paths, files)
	}
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

// inFiles names the compose files in an error of compose's that does not
// say which file it is about ("invalid hostPort: 99999").
func inFiles(err error, paths, files []string) error {
	for _, p := range paths {
		if strings.Contains(err.Error(), p) {
			return err
		}
	}
	return fmt.Errorf("%s: %w", names(files), err)
}

// unsupported is the error for the key at path: file:line:col of the
// first file that writes it, the key, and what dtask reads there.
func unsupported(paths, files, known []string, path ...string) error {
	key := path[len(path)-1]
	where := "top-level key"
	if len(path) > 1 {
		where = strings.Join(path[:len(path)-1], ".") + ": key"
	}
	return fmt.Errorf("%s: %s %q is not supported by dtask (it reads %s)", writtenAt(paths, files, path...), where, key, strings.Join(known, ", "))
}

// writtenAt is file:line:col of the key at path in the first file that
// writes it, or the files' names when none can be placed.
func writtenAt(paths, files []string, path ...string) string {
	for i, p := range paths {
		if loc := keyAt(p, files[i], path...); loc != files[i] {
			return loc
		}
	}
	return names(files)
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
