package taskfile

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/dtask-dev/dtask/engine/cache"
)

// validator checks what decoding cannot: references between entries,
// exclusive keys and the dependency graph.
type validator struct {
	f      *File
	c      *collector
	failed map[string]bool // keys with decode errors: no follow-on errors for them
}

func (v *validator) run() {
	v.version()
	v.defaultTarget()
	v.cache()
	for _, name := range slices.Sorted(maps.Keys(v.f.Secrets)) {
		v.secret(name, v.f.Secrets[name])
	}
	for _, name := range slices.Sorted(maps.Keys(v.f.Services)) {
		v.service(name, v.f.Services[name])
	}
	if !v.edges() {
		return
	}
	for _, name := range v.f.TargetNames() {
		v.target(name, v.f.Targets[name])
	}
	for _, cyc := range cycles(v.f) {
		first, second := cyc[0], cyc[1]
		at := []string{"targets", first, "deps"}
		keys := ancestors(at)
		if i := indexOf(v.f.Targets[first].Deps, second); i >= 0 {
			keys = append([]string{indexKey(at, i)}, keys...)
		}
		v.c.add(keys, "dependency cycle: %s", strings.Join(cyc, " -> "))
	}
}

func (v *validator) bad(key ...string) bool { return v.failed[keyString(key)] }

// badUnder reports whether anything at or under key had a decode error, so
// that a misspelt key does not also yield "needs an image".
func (v *validator) badUnder(key ...string) bool {
	prefix := keyString(key)
	for k := range v.failed {
		if k == prefix || strings.HasPrefix(k, prefix+".") {
			return true
		}
	}
	return false
}

func (v *validator) version() {
	switch {
	case v.bad("version"):
	case v.f.Version == 0 && !v.written("version"):
		v.c.errs = append(v.c.errs, &Error{File: v.c.file, Line: 1, Col: 1,
			Msg: fmt.Sprintf("version is required; add version = %d at the top", FormatVersion)})
	case v.f.Version > FormatVersion:
		v.c.addAt([]string{"version"}, "task file version %d is newer than this dtask supports (%d)", v.f.Version, FormatVersion)
	case v.f.Version < 1:
		v.c.addAt([]string{"version"}, "task file version %d is not supported (this dtask supports %d)", v.f.Version, FormatVersion)
	}
}

func (v *validator) written(key ...string) bool {
	_, ok := v.f.Pos()[keyString(key)]
	return ok
}

func (v *validator) defaultTarget() {
	d := v.f.Default
	if d == "" || v.f.Targets[d] != nil || strings.Contains(d, "$") {
		return // one with ${...} is checked once resolved, when it is run
	}
	v.c.addAt([]string{"default"}, "default target %q is not defined%s", d, didYouMean(d, v.f.TargetNames()))
}

// cache checks what a [cache] value's type lets through: a negative
// remote_keep was taken as the default, so a typo pruned by another rule
// than the one written.
func (v *validator) cache() {
	if n := v.f.Cache.RemoteKeep; n < 0 {
		v.c.addAt([]string{"cache", "remote_keep"}, "cache.remote_keep: %d is not a number of records (1 or more; 0: the default)", n)
	}
}

func (v *validator) secret(name string, s SecretRef) {
	at := []string{"secrets", name}
	switch {
	case s.Env != "" && s.File != "":
		v.c.addAt(at, "secret %q has both env and file; give exactly one", name)
	case s.Env == "" && s.File == "" && !v.badUnder("secrets", name):
		v.c.addAt(at, "secret %q needs env or file (e.g. { env = %q })", name, name)
	}
}

func (v *validator) service(name string, s *Service) {
	at := []string{"services", name}
	switch {
	case s.Image != "" && s.Build != "":
		v.c.addAt(append(at, "build"), "service %q has both image and build; give one", name)
	case s.Image == "" && s.Build == "" && !v.badUnder("services", name):
		v.c.addAt(at, "service %q has neither image nor build", name)
	}
	if s.Build != "" {
		if t := v.f.Targets[s.Build]; t == nil || t.Build == nil {
			v.c.addAt(append(at, "build"), "service %q: build = %q does not name a build target%s",
				name, s.Build, didYouMean(s.Build, v.buildTargets()))
		}
	}
	if s.Ready != nil {
		v.ready(append(at, "ready"), s.Ready)
	}
}

func (v *validator) buildTargets() []string {
	var out []string
	for _, n := range v.f.TargetNames() {
		if v.f.Targets[n].Build != nil {
			out = append(out, n)
		}
	}
	return out
}

func (v *validator) ready(at []string, r *Ready) {
	var probes []string
	if r.Cmd != "" {
		probes = append(probes, "cmd")
	}
	if r.TCP != 0 {
		probes = append(probes, "tcp")
	}
	if r.HTTP != "" {
		probes = append(probes, "http")
	}
	key := keyString(at)
	switch {
	case len(probes) > 1:
		v.c.addAt(append(at, probes[1]), "%s has %s; give one of cmd, tcp or http", key, and(probes))
	case len(probes) == 0 && !v.badUnder(at...):
		v.c.addAt(at, "%s needs one of cmd, tcp or http", key)
	}
	if r.TCP < 0 || r.TCP > 65535 {
		v.c.addAt(append(at, "tcp"), "%s.tcp must be a port between 1 and 65535, not %d", key, r.TCP)
	}
}

// and joins words as "a and b" or "a, b and c".
func and(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

func (v *validator) target(name string, t *Target) {
	at := []string{"targets", name}
	switch {
	case name == "":
		v.c.addAt(at, "a target name must not be empty")
	case strings.Contains(name, "="): // dtask X=1 sets a variable
		v.c.addAt(at, "target name %q cannot be named on the command line (a name with \"=\" is read as a variable)", name)
	}
	v.actions(name, t)
	v.refs(at, "deps", t.Deps, func(dep string) string {
		if v.f.Targets[dep] != nil {
			return ""
		}
		return fmt.Sprintf("target %q depends on unknown target %q%s", name, dep, didYouMean(dep, v.f.TargetNames()))
	})
	v.refs(at, "services", t.Services, func(svc string) string {
		if v.f.Services[svc] != nil || v.f.composeFailed {
			return ""
		}
		return fmt.Sprintf("target %q uses unknown service %q%s", name, svc, didYouMean(svc, slices.Sorted(maps.Keys(v.f.Services))))
	})
	v.serviceUse(name, t)
	if r := t.Run; r != nil {
		v.containerPaths(append(at, "run", "caches"), r.Caches)
		v.containerPaths(append(at, "run", "reports"), r.Reports)
	}
	if b := t.Build; b != nil {
		switch b.Builder {
		case "", "buildkit", "classic":
		default:
			v.c.addAt(append(at, "build", "builder"), "%s.build.builder must be \"buildkit\" or \"classic\", not %q", keyString(at), b.Builder)
		}
		v.refs(append(at, "build"), "secrets", b.Secrets, func(s string) string { return v.secretRef(name, "build secret", s) })
	}
	for i, src := range t.Sources {
		if err := cache.CheckPattern(src); err != nil {
			v.c.add([]string{indexKey(append(at, "sources"), i), keyString(append(at, "sources"))}, "%v", err)
		}
	}
	if w := t.When; w != nil {
		for i, g := range w.Branch {
			if _, err := path.Match(g, ""); err != nil {
				v.c.add([]string{indexKey(append(at, "when", "branch"), i), keyString(append(at, "when"))}, "bad branch pattern %q in %s.when.branch", g, keyString(at))
			}
		}
	}
	v.required(name, t)
}

// required refuses a run, push or deploy target without what it cannot do
// without (an image, tags, a container name), and bad secrets and ready
// checks of those.
func (v *validator) required(name string, t *Target) {
	at := []string{"targets", name}
	if r := t.Run; r != nil && r.Image == "" && !v.badUnder(append(at, "run")...) {
		v.c.addAt(append(at, "run"), "target %q: run needs an image", name)
	}
	if p := t.Push; p != nil {
		if p.Image == "" && !v.badUnder(append(at, "push")...) {
			v.c.addAt(append(at, "push"), "target %q: push needs an image", name)
		}
		if len(p.Tags) == 0 && !v.badUnder(append(at, "push")...) {
			v.c.addAt(append(at, "push"), "target %q: push needs tags (tags = [\"registry/name:tag\"])", name)
		}
		if msg := v.secretRef(name, "push password", p.Password); p.Password != "" && msg != "" {
			v.c.addAt(append(at, "push", "password"), "%s", msg)
		}
	}
	if dp := t.Deploy; dp != nil {
		if dp.Image == "" && !v.badUnder(append(at, "deploy")...) {
			v.c.addAt(append(at, "deploy"), "target %q: deploy needs an image", name)
		}
		if dp.Name == "" && !v.badUnder(append(at, "deploy")...) {
			v.c.addAt(append(at, "deploy"), "target %q: deploy needs a container name (name = \"...\")", name)
		}
		if dp.Ready != nil {
			v.ready(append(at, "deploy", "ready"), dp.Ready)
		}
	}
}

// serviceUse refuses services where nothing would start them: only run
// targets (by name, on a private network) and sh targets (on loopback
// ports) can use them.
func (v *validator) serviceUse(name string, t *Target) {
	at := []string{"targets", name}
	kind := t.ActionKind()
	switch {
	case len(t.Services) > 0 && kind != "run" && kind != "sh":
		v.c.addAt(append(at, "services"), "target %q: services are started for run and sh targets only, not for a %s target; list them on the targets that use them", name, kind)
	case t.FreshServices && len(t.Services) == 0:
		v.c.addAt(append(at, "fresh_services"), "target %q: fresh_services without services", name)
	}
}

// containerPaths checks that each item is an absolute path in the container.
func (v *validator) containerPaths(at []string, paths []string) {
	for i, p := range paths {
		if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "$") {
			v.c.add([]string{indexKey(at, i), keyString(at)}, "%s: %q must be an absolute path in the container", keyString(at), p)
		}
	}
}

func (v *validator) secretRef(target, what, name string) string {
	if _, ok := v.f.Secrets[name]; ok {
		return ""
	}
	return fmt.Sprintf("target %q: %s %q is not in [secrets]%s", target, what, name, didYouMean(name, slices.Sorted(maps.Keys(v.f.Secrets))))
}

// refs checks each name of the list at at.key, placing errors on the item.
func (v *validator) refs(at []string, key string, names []string, check func(string) string) {
	list := append(at[:len(at):len(at)], key)
	for i, n := range names {
		if v.c.full() {
			v.c.dropped = true // a suggestion costs a scan of every name: stop when none will be shown
			return
		}
		if msg := check(n); msg != "" {
			v.c.add(append([]string{indexKey(list, i)}, ancestors(list)...), "%s", msg)
		}
	}
}

var actionKeys = []string{"sh", "build", "run", "push", "deploy"}

func (v *validator) actions(name string, t *Target) {
	set := map[string]bool{"sh": t.Sh != nil, "build": t.Build != nil, "run": t.Run != nil, "push": t.Push != nil, "deploy": t.Deploy != nil}
	var have []string
	for _, k := range actionKeys {
		if set[k] {
			have = append(have, k)
		}
	}
	if len(have) < 2 {
		return
	}
	// In the order written, pointing at the second: the first is fine alone.
	at := func(k string) Position { return v.f.Pos()[keyString([]string{"targets", name, k})] }
	sort.SliceStable(have, func(i, j int) bool {
		a, b := at(have[i]), at(have[j])
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	what := "both " + and(have)
	if len(have) > 2 {
		what = and(have)
	}
	v.c.addAt([]string{"targets", name, have[1]}, "target %q has %s; a target has at most one action", name, what)
}

func indexOf(list []string, s string) int {
	for i, e := range list {
		if e == s {
			return i
		}
	}
	return -1
}
