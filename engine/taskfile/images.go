package taskfile

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/distribution/reference"
)

// imageRef is one image reference of a target or service: where it is
// written (the key below the target or service; index in the list there,
// or -1), its value as resolved and as written, and whether it must be a
// name (a tag to make) rather than any reference (an image ID too).
type imageRef struct {
	key   string
	index int
	value string
	raw   string
	name  bool
}

// CheckImages reports each image reference of the named targets (build
// and push tags; run, push and deploy images) and of the task file's
// services they use that no engine takes, such as "shop:feature/login"
// from ${GIT_BRANCH}: the engine's own "invalid reference format" named
// neither the target nor the key, and came only when the target ran.
// raw is f as written; lookup gives variables' values, to name those a
// bad reference was made from.
func CheckImages(f, raw *File, lookup func(string) (string, bool), names []string) error {
	c := &collector{file: f.name, pos: f.pos}
	if c.file == "" && f.Path != "" {
		c.file = displayPath(f.Path)
	}
	services := map[string]bool{}
	for _, name := range names {
		t, rt := f.Targets[name], raw.Targets[name]
		if t == nil || rt == nil {
			continue
		}
		targetImages(t, rt, func(r imageRef) { checkImage(c, raw, lookup, "targets", name, r) })
		for _, s := range t.Services {
			services[s] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(services)) {
		s, rs := f.Services[name], raw.Services[name]
		if s == nil || rs == nil || s.From != "" || s.Image == "" {
			continue // a compose service's image is compose's to check
		}
		r := imageRef{key: "image", index: -1, value: s.Image, raw: rs.Image}
		checkImage(c, raw, lookup, "services", name, r)
	}
	if len(c.errs) == 0 {
		return nil
	}
	sortErrors(c.errs)
	return c.errs
}

// targetImages calls visit with each of t's image references; rt is t
// as written. Keys are made only for an error: for ten thousand targets
// making them was most of the check's cost.
func targetImages(t, rt *Target, visit func(imageRef)) {
	list := func(key string, vals, raws []string) {
		for i := range min(len(vals), len(raws)) {
			visit(imageRef{key: key, index: i, value: vals[i], raw: raws[i], name: true})
		}
	}
	one := func(key, val, raw string) {
		visit(imageRef{key: key, index: -1, value: val, raw: raw})
	}
	switch {
	case t.Build != nil && rt.Build != nil:
		list("build.tags", t.Build.Tags, rt.Build.Tags)
	case t.Run != nil && rt.Run != nil:
		one("run.image", t.Run.Image, rt.Run.Image)
	case t.Push != nil && rt.Push != nil:
		one("push.image", t.Push.Image, rt.Push.Image)
		list("push.tags", t.Push.Tags, rt.Push.Tags)
	case t.Deploy != nil && rt.Deploy != nil:
		one("deploy.image", t.Deploy.Image, rt.Deploy.Image)
	}
}

// checkImage adds the error for r, of the target or service name (table
// "targets" or "services"), if it is no valid reference. An empty value is
// left to the checks that say an image is needed.
func checkImage(c *collector, raw *File, lookup func(string) (string, bool), table, name string, r imageRef) {
	if r.value == "" || plainReference(r.value) {
		return
	}
	var err error
	if r.name {
		_, err = reference.ParseNormalizedNamed(r.value)
	} else {
		_, err = reference.ParseAnyReference(r.value)
	}
	if err == nil {
		return
	}
	path := append([]string{table, name}, strings.Split(r.key, ".")...)
	key, keys := r.key, ancestors(path)
	if r.index >= 0 {
		key += "[" + itoa(r.index) + "]"
		keys = append([]string{indexKey(path, r.index)}, keys...)
	}
	who := fmt.Sprintf("target %q", name)
	if table == "services" {
		who = fmt.Sprintf("service %q", name)
	}
	c.add(keys, "%s: %s %q is not a valid image reference: %v%s", who, key, r.value, err, madeFrom(raw, lookup, r.raw))
}
