package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
)

// Record is a recorded success of a target.
type Record = cache.Record

// Plan collects what a target's result depends on. Actions fill it in
// Action.Plan; the engine hashes it into the target's key.
type Plan struct {
	Target *taskfile.Target
	File   *taskfile.File
	Dir    string             // the target's working folder
	Deps   map[string]Outputs // deps' outputs (image IDs, ...)

	key      *cache.Key
	index    *cache.Index
	watched  []string // absolute paths of files and folders the target reads
	globs    []string // sources globs, relative to Dir
	stateDir string   // dtask's state folder, excluded from sources
	always   string   // why the target runs every time, if it does
	missing  string   // what Check found missing
}

// Def adds a part of the definition under label. Values are JSON-encoded
// so that maps hash in a stable order. A struct of the task file model gets
// one line per field that is set, named by its TOML key ("def.build.args"),
// so that a dry run can say which key of the definition changed, and a
// field added to dtask later changes no existing key. A field tagged
// `dtask:"nokey"` (cache volumes) never changes a result and is left out.
func (p *Plan) Def(label string, v any) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		p.key.Add("def."+label, jsonText(v))
		return
	}
	fields := map[string]string{}
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if !f.IsExported() || name == "-" || f.Tag.Get("dtask") == "nokey" || rv.Field(i).IsZero() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = jsonText(rv.Field(i).Interface())
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		p.key.Add("def."+label+"."+k, fields[k])
	}
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// Image adds the ID of an image the target consumes.
func (p *Plan) Image(label, id string) {
	p.key.Add("image."+label, id)
}

// Input adds any other labelled input.
func (p *Plan) Input(label, value string) {
	p.key.Add(label, value)
}

// Files hashes the files (relative to root, slash-separated) as sources.
func (p *Plan) Files(root string, rel []string) error {
	abs := make([]string, 0, len(rel))
	for _, r := range rel {
		a := filepath.Join(root, filepath.FromSlash(r))
		// dtask's own state changes with every run: never a source.
		if p.stateDir != "" && strings.HasPrefix(a, p.stateDir+string(filepath.Separator)) {
			continue
		}
		abs = append(abs, a)
	}
	// HashAll reads changed files in parallel: a first run hashes at disk speed.
	sums, err := p.index.HashAll(abs)
	if err != nil {
		return fmt.Errorf("hashing sources: %w", err)
	}
	for i, a := range abs {
		p.key.Add("src "+p.relName(a), sums[i])
	}
	p.watched = append(p.watched, root)
	return nil
}

// Globs expands sources globs relative to the target's folder and hashes
// the files they match.
func (p *Plan) Globs(patterns []string) error {
	files, err := cache.Glob(p.Dir, patterns)
	if err != nil {
		return err
	}
	if err := p.Files(p.Dir, files); err != nil {
		return err
	}
	p.globs = append(p.globs, patterns...)
	return nil
}

// SourceGlobs returns the sources globs the target declared, relative to
// Dir, so that watch mode can notice files that do not exist yet.
func (p *Plan) SourceGlobs() []string { return p.globs }

// Watch names extra paths for watch mode without hashing them.
func (p *Plan) Watch(paths ...string) { p.watched = append(p.watched, paths...) }

// Watched returns the paths watch mode should follow for this target.
func (p *Plan) Watched() []string { return p.watched }

// relName names a file relative to the task file's folder for keys and
// "why" messages.
func (p *Plan) relName(abs string) string {
	if r, err := filepath.Rel(p.File.Dir, abs); err == nil {
		return filepath.ToSlash(r)
	}
	return abs
}

// Always marks the target as one that runs every time (an sh target without
// sources); reason is shown as why it ran.
func (p *Plan) Always(reason string) { p.always = reason }
