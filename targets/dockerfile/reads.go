package dockerfile

import (
	"bytes"
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// MayRead says whether a build of src could read the context's top-level
// entry name (".git"): a COPY or ADD from the context, or a RUN
// --mount=type=bind of it, whose source is the whole context, name or
// something under it, or a pattern or variable that could match it.
// Every stage counts, whatever the target; an error or a doubt says yes.
// ONBUILD triggers of the base images are not seen.
func MayRead(src []byte, name string) bool {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return true
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return true
	}
	for _, st := range stages {
		for _, cmd := range st.Commands {
			if commandMayRead(cmd, name) {
				return true
			}
		}
	}
	return false
}

// commandMayRead is MayRead for one instruction.
func commandMayRead(cmd instructions.Command, name string) bool {
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		return c.From == "" && anyMayRead(c.SourcePaths, name)
	case *instructions.AddCommand:
		var local []string
		for _, s := range c.SourcePaths {
			if !remote(s) {
				local = append(local, s)
			}
		}
		return anyMayRead(local, name)
	case *instructions.RunCommand:
		// The mounts are parsed on expansion; variables are left as written.
		if c.Expand(func(w string) (string, error) { return w, nil }) != nil {
			return true
		}
		for _, m := range instructions.GetMounts(c) {
			if m.Type == instructions.MountTypeBind && m.From == "" && pathMayRead(m.Source, name) {
				return true
			}
		}
	}
	return false
}

func anyMayRead(sources []string, name string) bool {
	for _, s := range sources {
		if pathMayRead(s, name) {
			return true
		}
	}
	return false
}

// pathMayRead says whether source, a path in the context, could be name
// or hold it.
func pathMayRead(source, name string) bool {
	if strings.Contains(source, "$") {
		return true // a variable: its value is not worked out here
	}
	p := path.Clean("/" + source)
	if p == "/" {
		return true
	}
	first, _, _ := strings.Cut(p[1:], "/")
	if first == name {
		return true
	}
	ok, err := path.Match(first, name)
	return ok || err != nil
}

// remote says an ADD source is a URL or a git repository, not the context.
func remote(s string) bool {
	for _, p := range []string{"http://", "https://", "git@", "git://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
