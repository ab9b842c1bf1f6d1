package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/sources"
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
	Deps   map[string]Outputs // deps' outputs (image IDs, ...); nil without deps

	key      *cache.Key
	index    *cache.Index
	sources  sources.Set // what the target reads
	root     string      // the project: run volumes outside it are not hashed
	stateDir string      // dtask's state folder, excluded from sources
	written  []string    // files dtask writes during the run, excluded too
	always   string      // why the target runs every time, if it does
	unhashed []string    // paths it reads that are not in its key, with why
	missing  string      // what Check found missing
	fetched  []fetchedImage
}

// fetchedImage is an image the engine lacked when the target was planned,
// which its run fetches: resolve gives its ID once the run has it.
type fetchedImage struct {
	label   string
	resolve func(context.Context) (string, error)
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
		name, _ := taskfile.FieldKey(f)
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

// ImageToFetch adds an image the target consumes that neither the engine
// nor the image cache has yet, which its run will fetch (pull) or fail
// on. Its line holds placeholder until the run succeeds; it then gets the
// ID resolve finds, and the success is recorded under that key: the one
// the next run computes, since it finds the image in the engine. Recorded
// under the placeholder, the next run with no change would run again,
// and every target depending on this one with it.
func (p *Plan) ImageToFetch(label, placeholder string, resolve func(context.Context) (string, error)) {
	p.Image(label, placeholder)
	p.fetched = append(p.fetched, fetchedImage{"image." + label, resolve})
}

// resolveFetched gives the lines ImageToFetch added the IDs the run
// fetched, and says whether the key changed. An image still missing (a
// build that left its base in BuildKit's own store) keeps its placeholder,
// which the next run computes too.
func (p *Plan) resolveFetched(ctx context.Context) bool {
	changed := false
	for _, f := range p.fetched {
		if id, err := f.resolve(ctx); err == nil && id != "" {
			changed = p.key.Set(f.label, id) || changed
		}
	}
	return changed
}

// Input adds any other labelled input.
func (p *Plan) Input(label, value string) {
	p.key.Add(label, value)
}

// Files hashes the files (relative to root, slash-separated) as sources.
func (p *Plan) Files(root string, rel []string) error {
	root = filepath.Clean(root)
	prefix, fast := p.srcPrefix(root)
	if !fast {
		return p.filesSlow(root, rel)
	}
	keep := rel
	state, written, inState := p.skipsUnder(root)
	for i, r := range rel {
		if inState || r == "." || r == ".." || strings.HasPrefix(r, "../") {
			return p.filesSlow(root, rel)
		}
		if state != "" && strings.HasPrefix(r, state) || slices.Contains(written, r) {
			if len(keep) == len(rel) {
				keep = slices.Clip(rel[:i])
			}
			continue
		}
		if len(keep) < len(rel) {
			keep = append(keep, r)
		}
	}
	// Paths from a Glob are clean: the key keeps them as they are, and
	// builds each label (prefix+path) only when it is hashed. HashFiles
	// reads changed files in parallel: a first run hashes at disk speed.
	sums, err := p.index.HashFiles(root, keep)
	if err != nil {
		return fmt.Errorf("hashing sources: %w", err)
	}
	p.key.AddFiles(prefix, keep, sums)
	return nil
}

// skipped says a file is dtask's own state, which changes with every run,
// or one dtask writes during the run: never a source.
func (p *Plan) skipped(abs string) bool {
	return p.stateDir != "" && strings.HasPrefix(abs, p.stateDir+string(filepath.Separator)) || slices.Contains(p.written, abs)
}

// skipsUnder returns, relative to root and slash-separated, the state
// folder with a slash after it ("" if it is not under root) and the files
// dtask writes under root, so that Files checks each path without
// building it. inState says root is in the state folder itself.
func (p *Plan) skipsUnder(root string) (state string, written []string, inState bool) {
	sep := string(filepath.Separator)
	rel := func(abs string) (string, bool) {
		r, ok := strings.CutPrefix(abs, root+sep)
		return filepath.ToSlash(r), ok
	}
	if p.stateDir != "" {
		if strings.HasPrefix(root+sep, p.stateDir+sep) {
			return "", nil, true
		}
		if r, ok := rel(p.stateDir); ok {
			state = r + "/"
		}
	}
	for _, w := range p.written {
		if r, ok := rel(w); ok {
			written = append(written, r)
		}
	}
	return state, written, false
}

// filesSlow is Files for paths that need a Join and a Rel each.
func (p *Plan) filesSlow(root string, rel []string) error {
	abs := make([]string, 0, len(rel))
	for _, r := range rel {
		if a := filepath.Join(root, filepath.FromSlash(r)); !p.skipped(a) {
			abs = append(abs, a)
		}
	}
	sums, err := p.index.HashAll(abs)
	if err != nil {
		return fmt.Errorf("hashing sources: %w", err)
	}
	for i, a := range abs {
		p.key.Add("src "+p.relName(a), sums[i])
	}
	return nil
}

// srcPrefix is what goes before a file's path relative to root to make
// its key label, so that a label costs one concatenation rather than a
// Join and a Rel per file. fast is false where that does not hold.
func (p *Plan) srcPrefix(root string) (prefix string, fast bool) {
	r, err := filepath.Rel(p.File.Dir, root)
	switch {
	case err != nil:
		return "", false
	case r == ".":
		return "src ", true
	}
	return "src " + filepath.ToSlash(r) + "/", true
}

// GlobFiles expands patterns relative to root and hashes the files they
// match, using the stats the walk took.
func (p *Plan) GlobFiles(root string, patterns []string) error {
	files, err := p.index.Glob(root, patterns)
	if err != nil {
		return err
	}
	return p.Files(root, files)
}

// Unhashed names a path the target uses that is not part of its key (a
// bind-mounted socket, a folder outside the project), so that a dry run
// can say that changes to it will not make the target run.
func (p *Plan) Unhashed(path, why string) {
	p.unhashed = append(p.unhashed, fmt.Sprintf("%s (%s)", path, why))
}

// unhashedNote is what a dry run adds to a target's reason about them.
func (p *Plan) unhashedNote() string {
	if len(p.unhashed) == 0 {
		return ""
	}
	return "; not hashed: " + strings.Join(p.unhashed, ", ")
}

// Sources returns what the target reads, as the sources model says.
func (p *Plan) Sources() sources.Set { return p.sources }

// HashSources hashes the files of every source root that has no Exclude
// (roots with one are hashed by the action that lists and sends them): a
// sources glob's matches, every file under a folder, a file; a path that
// does not exist adds nothing.
func (p *Plan) HashSources() error {
	for _, r := range p.sources {
		if r.Exclude != nil {
			continue
		}
		if err := p.hashRoot(r); err != nil {
			return err
		}
	}
	return nil
}

// hashRoot hashes one root. A bind-mounted path outside the project (a
// cache folder, the Docker socket) and a special file (a socket,
// /dev/null) are mounted but not hashed: dtask reads nothing outside the
// project, and a socket has no content. A dry run says so.
func (p *Plan) hashRoot(r sources.Root) error {
	if r.Globs != nil {
		return p.GlobFiles(r.Path, r.Globs)
	}
	if p.root != "" && !taskfile.Inside(p.root, r.Path) {
		p.Unhashed(r.Path, "outside the project")
		return nil
	}
	fi, err := os.Stat(r.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // a volume the engine creates as an empty folder
	case err != nil:
		return err
	case !fi.IsDir() && !fi.Mode().IsRegular():
		p.Unhashed(r.Path, "not a regular file")
		return nil
	case !fi.IsDir():
		return p.Files(filepath.Dir(r.Path), []string{filepath.Base(r.Path)})
	}
	return p.GlobFiles(r.Path, []string{"**"})
}

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
