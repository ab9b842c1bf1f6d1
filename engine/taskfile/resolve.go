package taskfile

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/dtask-dev/dtask/engine/vars"
)

// Expander interpolates ${NAME} references; (*vars.Scope) is one.
type Expander interface {
	Expand(s string) (string, error)
}

// literalField says a field (Type.Field) stays as written: [vars] and
// [environments] are what the variable scope is built from, and the others
// name targets, services or secrets, which were checked against the names
// as written. A field tagged `dtask:"literal"` stays as written too.
func literalField(name string) bool {
	switch name {
	case "File.Vars", "File.Environments", "Target.Deps", "Target.Services",
		"Service.Build", "Build.Secrets", "Push.Password":
		return true
	}
	return false
}

// SecretExpander is an Expander that can also expand [secrets] names, for
// the values a secret may go into: the env of targets and services, which
// reaches a process or container and never an image or a record.
type SecretExpander interface {
	Expander
	ExpandSecret(s string) (string, error)
}

// secretPath says whether the value at path may hold a secret:
// targets.X.env.K, targets.X.run.env.K, targets.X.deploy.env.K and
// services.X.env.K.
func secretPath(path []string) bool {
	switch {
	case len(path) == 4 && path[0] == "targets" && path[2] == "env",
		len(path) == 4 && path[0] == "services" && path[2] == "env":
		return true
	case len(path) == 5 && path[0] == "targets" && (path[2] == "run" || path[2] == "deploy") && path[3] == "env":
		return true
	}
	return false
}

// Resolve returns a copy of f with every string value interpolated by
// env (map keys are not). A target or service with nothing to interpolate
// is shared with f, not copied: a loaded file is read-only, and copying
// ten thousand such targets cost more than deciding they were up to date.
// It must be given a File as loaded, not one already resolved: "$$" would
// be expanded twice. Every failing value is reported,
// placed at its key. With errors it still returns the copy, values that
// failed left as written, so a caller can decide which errors matter (a
// target that will not run need not resolve).
func Resolve(f *File, env Expander) (*File, error) {
	return resolve(f, env, nil)
}

// ResolveFor is Resolve for a run of goals: a value of a target or
// service the goals and their deps do not use that fails to interpolate
// is left as written, not an error — a deploy target's ${DEPLOY_HOST} set
// only in [environments.staging] must not stop `dtask test`. No goals
// (listing, graphing) need no target. An unknown goal needs nothing here;
// the caller reports it with a suggestion.
func ResolveFor(f *File, env Expander, goals []string) (*File, error) {
	names, err := f.Closure(goals)
	if err != nil {
		names = nil
	}
	return ResolveTargets(f, env, names)
}

// ResolveTargets is ResolveFor given the goals' closure (Closure), for a
// caller that needs it too: for ten thousand targets it is a walk and a
// map to build.
func ResolveTargets(f *File, env Expander, names []string) (*File, error) {
	var targets, services map[string]bool
	return resolve(f, env, func(path []string) bool {
		if targets == nil { // asked only on an error
			targets, services = neededSets(f, names)
		}
		switch {
		case len(path) < 2:
			return true
		case path[0] == "targets":
			return targets[path[1]]
		case path[0] == "services":
			return services[path[1]]
		}
		return true
	})
}

// neededSets are the targets named and the services they use.
func neededSets(f *File, names []string) (targets, services map[string]bool) {
	targets, services = make(map[string]bool, len(names)), map[string]bool{}
	for _, n := range names {
		targets[n] = true
		for _, s := range f.Targets[n].Services {
			services[s] = true
		}
	}
	return targets, services
}

// resolve interpolates f; keep says whether an error at a key path counts
// (nil: all do).
func resolve(f *File, env Expander, keep func(path []string) bool) (*File, error) {
	name := f.name
	if name == "" && f.Path != "" {
		name = displayPath(f.Path)
	}
	r := &resolver{env: env, keep: keep, c: &collector{file: name, pos: f.pos},
		fields: map[reflect.Type][]fieldInfo{}}
	out := reflect.New(reflect.TypeFor[*File]()).Elem()
	r.copy(out, reflect.ValueOf(f), false)
	if errs := r.c.result(); errs != nil {
		return out.Interface().(*File), errs
	}
	return out.Interface().(*File), nil
}

type resolver struct {
	env   Expander
	keep  func(path []string) bool
	c     *collector
	total int // bytes interpolated so far, bounded by MaxResolved
	// fields memoises each struct type's fields: a file of ten thousand
	// targets would otherwise parse the same tags ten thousand times.
	fields map[reflect.Type][]fieldInfo
	// path and idx[idxFrom:] are where copy is: see copy.
	path    []string
	idx     []int
	idxFrom int
}

// fieldInfo is what copy needs to know of one struct field.
type fieldInfo struct {
	index int
	key   string // its TOML key
	lit   bool   // kept as written
}

// fieldsOf returns the exported fields of struct type t.
func (r *resolver) fieldsOf(t reflect.Type) []fieldInfo {
	if fs, ok := r.fields[t]; ok {
		return fs
	}
	var fs []fieldInfo
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		key, settable := FieldKey(sf)
		lit := !settable || sf.Tag.Get("dtask") == "literal" ||
			literalField(t.Name()+"."+sf.Name)
		fs = append(fs, fieldInfo{index: i, key: key, lit: lit})
	}
	r.fields[t] = fs
	return fs
}

// copy deep-copies v into dst (settable, of v's type), interpolating
// strings unless literal. r.path is the key path of v and r.idx the array
// indexes below it, which place errors: both are stacks, and the key
// string is made only for a value with a "$" in it, as a path or an
// index string per value was an allocation per value. Values are written
// in place: a new value per string or struct field would be most of what
// loading ten thousand targets allocates.
func (r *resolver) copy(dst, v reflect.Value, literal bool) {
	switch v.Kind() {
	case reflect.String:
		dst.SetString(r.expand(v.String(), literal))
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			r.copy(p.Elem(), v.Elem(), literal)
			dst.Set(p)
		}
	case reflect.Struct:
		// Unexported fields and plain values as they are: the positions
		// of every key are shared, read-only (copying them was most of
		// resolving).
		dst.Set(v)
		for _, f := range r.fieldsOf(v.Type()) {
			if fv := v.Field(f.index); !fv.IsZero() { // a zero value was copied above
				m := r.down(f.key)
				r.copy(dst.Field(f.index), fv, literal || f.lit)
				r.up(m)
			}
		}
	case reflect.Slice:
		r.copySlice(dst, v, literal)
	case reflect.Map:
		if !v.IsNil() {
			r.copyMap(dst, v, literal)
		}
	default:
		dst.Set(v)
	}
}

func (r *resolver) copyMap(dst, v reflect.Value, literal bool) {
	m := reflect.MakeMapWithSize(v.Type(), v.Len())
	// SetMapIndex copies the element: one scratch value serves all.
	ev := reflect.New(v.Type().Elem()).Elem()
	iter := v.MapRange()
	for iter.Next() {
		if val := iter.Value(); val.Kind() == reflect.Pointer && r.plain(val, literal) {
			m.SetMapIndex(iter.Key(), val) // a target or service as written: shared
			continue
		}
		mk := r.down(iter.Key().String()) // every map of the model has string keys
		ev.SetZero()
		r.copy(ev, iter.Value(), literal)
		r.up(mk)
		m.SetMapIndex(iter.Key(), ev)
	}
	dst.Set(m)
}

func (r *resolver) copySlice(dst, v reflect.Value, literal bool) {
	switch {
	case v.IsNil():
	case literal && v.Type().Elem().Kind() == reflect.String:
		// deps and the like: a plain copy, without a key for every element.
		dst.Set(reflect.AppendSlice(reflect.MakeSlice(v.Type(), 0, v.Len()), v))
	default:
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			r.idx = append(r.idx, i)
			r.copy(s.Index(i), v.Index(i), literal)
			r.idx = r.idx[:len(r.idx)-1]
		}
		dst.Set(s)
	}
}

// plain says whether v holds no string that interpolation would change
// (one with a "$" outside a literal field), so that its copy would equal
// it. It allocates nothing: for ten thousand targets with nothing to
// interpolate, copying them was most of resolving.
func (r *resolver) plain(v reflect.Value, literal bool) bool {
	switch v.Kind() {
	case reflect.String:
		return literal || !strings.Contains(v.String(), "$")
	case reflect.Pointer:
		return v.IsNil() || r.plain(v.Elem(), literal)
	case reflect.Struct:
		for _, f := range r.fieldsOf(v.Type()) {
			if fv := v.Field(f.index); !fv.IsZero() && !r.plain(fv, literal || f.lit) {
				return false
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if !r.plain(v.Index(i), literal) {
				return false
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if !r.plain(iter.Value(), literal) {
				return false
			}
		}
	}
	return true
}

// mark is where copy was in the file before it went down a key: the
// stacks are cut back to it, never replaced, so that they grow once.
type mark struct{ path, idxFrom int }

// down goes to key below the current path; up(mark) comes back. The
// indexes of a key start afresh below it (r.idxFrom).
func (r *resolver) down(key string) mark {
	m := mark{len(r.path), r.idxFrom}
	r.path, r.idxFrom = append(r.path, key), len(r.idx)
	return m
}

func (r *resolver) up(m mark) { r.path, r.idxFrom = r.path[:m.path], m.idxFrom }

// ref names the value copy is at: "targets.b.sh[1]".
func (r *resolver) ref() string {
	ref := keyString(r.path)
	for _, i := range r.idx[r.idxFrom:] {
		ref += "[" + itoa(i) + "]"
	}
	return ref
}

func (r *resolver) expand(s string, literal bool) string {
	if literal || !strings.Contains(s, "$") {
		return s
	}
	path, ref := r.path, r.ref()
	if r.total > MaxResolved {
		return s // reported once, when it was passed
	}
	expand := r.env.Expand
	if se, ok := r.env.(SecretExpander); ok && secretPath(path) {
		expand = se.ExpandSecret
	}
	res, err := expand(s)
	if err != nil && r.keep != nil && !r.keep(path) {
		return s // a target or service this run does not use
	}
	if r.total += len(res); err == nil && r.total > MaxResolved {
		r.c.add(append([]string{ref}, ancestors(path)...),
			"%s: interpolated values add up to more than %d MiB (the limit)", ref, MaxResolved>>20)
		return s
	}
	if err != nil {
		name := ref
		if _, ok := r.c.pos.get()[ref]; !ok && strings.HasSuffix(ref, "]") {
			name = keyString(path) // a StringList written as one string
		}
		at := append([]string{ref}, ancestors(path)...)
		var long *vars.TooLongError
		if errors.As(err, &long) && long.Name != "" {
			at = append([]string{keyString([]string{"vars", long.Name})}, at...)
		}
		r.c.add(at, "%s: %v%s", name, err, shellHint(path, err))
		return s
	}
	return res
}

// shellHint helps with a shell variable written in a host command, which
// dtask interpolates first: `for f in *; do echo ${f}; done`.
func shellHint(path []string, err error) string {
	var u *vars.UndefinedError
	if len(path) < 3 || path[0] != "targets" || path[2] != "sh" || !errors.As(err, &u) {
		return ""
	}
	return fmt.Sprintf(" (a shell variable is written $${%s})", u.Name)
}
