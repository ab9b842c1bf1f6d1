package taskfile

import (
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"

	"github.com/BurntSushi/toml"

	"github.com/dtask-dev/dtask/internal/regularfile"
)

// Options are what Load needs from outside the engine.
type Options struct {
	// Compose reads the services of the compose files a task file names
	// (dir is the task file's folder). nil: such a task file is an error.
	Compose func(dir string, files []string) (map[string]*Service, error)
	// Parsed, when set, keeps the decoded file between runs (parsed.go).
	Parsed *Parsed
}

// Load reads, decodes and validates the task file at path. Every problem
// found is returned at once, as Errors.
func Load(path string) (*File, error) { return LoadWith(path, Options{}) }

// LoadWith is Load with opts.
func LoadWith(path string, opts Options) (*File, error) {
	name := displayPath(path)
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, Errors{{File: name, Msg: err.Error()}}
	}
	data, err := readLimited(path)
	if err != nil {
		return nil, Errors{{File: name, Msg: "cannot read task file: " + errText(err), err: err}}
	}
	if f := opts.Parsed.load(abs, name, data); f != nil {
		return f, nil
	}
	f, err := parse(name, data, filepath.Dir(abs), opts)
	if err != nil {
		return nil, err
	}
	f.Path, f.Dir = abs, filepath.Dir(abs)
	opts.Parsed.save(abs, name, data, f)
	return f, nil
}

// readLimited reads the file, but never much more than MaxFileSize of it
// (it may be growing), and only a regular file: a task file could be a
// named pipe or /dev/zero.
func readLimited(path string) ([]byte, error) {
	fh, err := regularfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
}

// errText drops the path an *os.PathError repeats.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse decodes and validates task file text; name is used in messages.
// Path and Dir are left empty.
func Parse(name string, data []byte) (*File, error) { return parse(name, data, "", Options{}) }

func parse(name string, data []byte, dir string, opts Options) (*File, error) {
	if len(data) > MaxFileSize {
		return nil, Errors{tooLarge(name)}
	}
	// The locator goes first: it stops at nesting the parser would take
	// unbounded time and memory over.
	pos, varOrder, deep := locate(string(data))
	if deep != nil {
		return nil, Errors{tooDeep(name, *deep)}
	}
	var top map[string]toml.Primitive
	md, err := toml.Decode(string(data), &top)
	if err != nil {
		return nil, Errors{syntaxError(name, err)}
	}
	at := located(pos)
	c := &collector{file: name, pos: at}
	d := &decoder{md: &md, c: c, failed: map[string]bool{},
		fields: map[reflect.Type]map[string]int{}}
	f := &File{pos: at, name: name}
	d.table(top, reflect.ValueOf(f).Elem(), nil)
	d.undecoded()
	f.VarOrder = orderVars(f.Vars, varOrder)
	f.addCompose(c, dir, opts)
	f.serviceDeps()
	(&validator{f: f, c: c, failed: d.failed}).run()
	if errs := c.result(); errs != nil {
		return nil, errs
	}
	return f, nil
}

func syntaxError(name string, err error) *Error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: name, Line: pe.Position.Line, Col: pe.Position.Col, Msg: pe.Message, err: err}
	}
	return &Error{File: name, Msg: err.Error(), err: err}
}

// orderVars keeps the located order, then any names the locator missed.
func orderVars(vars map[string]string, located []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range located {
		if _, ok := vars[v]; ok && !seen[v] {
			out, seen[v] = append(out, v), true
		}
	}
	var rest []string
	for v := range vars {
		if !seen[v] {
			rest = append(rest, v)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func itoa(i int) string { return strconv.Itoa(i) }

func quote(s string) string { return strconv.Quote(s) }

// addCompose adds the services of the compose files: [services] entries
// of the same name win, so a task file can adjust one. A compose file
// that cannot be used is an error naming it.
func (f *File) addCompose(c *collector, dir string, opts Options) {
	if len(f.Compose) == 0 {
		return
	}
	if opts.Compose == nil {
		c.addAt([]string{"compose"}, "compose files cannot be read here")
		return
	}
	svcs, err := opts.Compose(dir, f.Compose)
	if err != nil {
		c.addAt([]string{"compose"}, "%v", err)
		f.composeFailed = true
		return
	}
	if f.Services == nil {
		f.Services = map[string]*Service{}
	}
	for _, name := range slices.Sorted(maps.Keys(svcs)) {
		if s := svcs[name]; f.Services[name] == nil {
			s.Name = name
			f.Services[name] = s
			f.composeBuild(c, s)
		}
	}
}

// composeBuild makes a compose service's build a build target that the
// service uses like a [services] entry with build = "TARGET".
func (f *File) composeBuild(c *collector, s *Service) {
	if s.ComposeBuild == nil {
		return
	}
	name := ComposeTarget(s.Name)
	if f.Targets[name] != nil {
		c.addAt([]string{"targets", name}, "target %q is the name dtask gives the build of compose service %s; rename it", name, s.Name)
		return
	}
	if f.Targets == nil {
		f.Targets = map[string]*Target{}
	}
	f.Targets[name] = &Target{Name: name, Desc: "Build the image of compose service " + s.Name + " (" + s.From + ")", Build: s.ComposeBuild}
	s.Build = name
}

// serviceDeps makes the build target of every service a target uses one of
// the target's deps, so that the image exists before the service starts,
// and the graph, the cycle check and --graph all see the edge.
func (f *File) serviceDeps() {
	for _, t := range f.Targets {
		for _, name := range t.Services {
			svc := f.Services[name]
			if svc == nil || svc.Build == "" || f.Targets[svc.Build] == nil || slices.Contains(t.Deps, svc.Build) {
				continue
			}
			t.Deps = append(t.Deps, svc.Build)
		}
	}
}
