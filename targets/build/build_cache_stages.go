package build

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// cacheStages returns the named stages the final stage (target, or the
// last one) depends on through FROM, COPY --from or RUN --mount=from, in
// Dockerfile order. Each is built and tagged on its own, because inline
// cache metadata only covers the layers of the image it is attached to.
func cacheStages(src []byte, target string) ([]string, error) {
	stages, _, err := parseStages(src)
	if err != nil {
		return nil, err
	}
	final := findStage(stages, target)
	if final < 0 {
		return nil, nil
	}
	needed := stageDeps(stages, final)
	var out []string
	for i := 0; i < final; i++ {
		if needed[i] && stages[i].Name != "" {
			out = append(out, strings.ToLower(stages[i].Name))
		}
	}
	return out, nil
}

// withSteps keeps the stages of names that have instructions of their
// own. A stage that is only a FROM (FROM busybox AS tools) has no step
// for cache metadata to describe, and its image is its base's, which the
// machine provides or the build's base entries carry: building and saving
// it costs a save of the whole base image for nothing.
func withSteps(src []byte, names []string) []string {
	stages, _, err := parseStages(src)
	if err != nil {
		return names
	}
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool {
		i := findStage(stages, n)
		return i >= 0 && strings.EqualFold(stages[i].Name, n) && len(stages[i].Commands) == 0
	})
}

func parseStages(src []byte) ([]instructions.Stage, []instructions.ArgCommand, error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, nil, err
	}
	return instructions.Parse(res.AST, nil)
}

// findStage is the index of stage target, or of the last stage when
// target is "" or names none (-1: no stages).
func findStage(stages []instructions.Stage, target string) int {
	for i, st := range stages {
		if target != "" && strings.EqualFold(st.Name, target) {
			return i
		}
	}
	return len(stages) - 1
}

// stageDeps marks the stages stage final depends on, directly or not.
func stageDeps(stages []instructions.Stage, final int) map[int]bool {
	find := func(ref string, before int) int {
		if n, err := strconv.Atoi(ref); err == nil && n >= 0 && n < before {
			return n
		}
		for i := before - 1; i >= 0; i-- {
			if strings.EqualFold(stages[i].Name, ref) {
				return i
			}
		}
		return -1
	}
	needed := map[int]bool{}
	var visit func(i int)
	visit = func(i int) {
		for _, ref := range stageRefs(stages[i]) {
			if j := find(ref, i); j >= 0 && !needed[j] {
				needed[j] = true
				visit(j)
			}
		}
	}
	visit(final)
	return needed
}

// unseenArgs lists the build args a build of stage cannot see: those
// declared by ARG only in stages it does not depend on (a global ARG,
// before the first FROM, may be in any FROM line, and an arg no ARG
// declares may be one of BuildKit's own, so both count as seen). Two
// builds of the stage whose args differ only in these make the same image.
func unseenArgs(src []byte, stage string) (map[string]bool, error) {
	stages, meta, err := parseStages(src)
	if err != nil {
		return nil, err
	}
	final := findStage(stages, stage)
	if final < 0 || !strings.EqualFold(stages[final].Name, stage) {
		return nil, fmt.Errorf("no stage %s", stage)
	}
	unseen, visible := map[string]bool{}, map[string]bool{}
	for _, c := range meta {
		for _, a := range c.Args {
			visible[a.Key] = true
		}
	}
	seen := stageDeps(stages, final)
	seen[final] = true
	for i, st := range stages {
		for _, cmd := range st.Commands {
			if c, ok := cmd.(*instructions.ArgCommand); ok {
				for _, a := range c.Args {
					unseen[a.Key] = true
					if seen[i] {
						visible[a.Key] = true
					}
				}
			}
		}
	}
	for k := range visible {
		delete(unseen, k)
	}
	return unseen, nil
}

// stageRefs lists what a stage may name as another stage.
func stageRefs(st instructions.Stage) []string {
	refs := []string{st.BaseName}
	for _, cmd := range st.Commands {
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			if c.From != "" {
				refs = append(refs, c.From)
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if m.From != "" {
					refs = append(refs, m.From)
				}
			}
		}
	}
	return refs
}

// stageSteps reads BuildKit's plain build output ("#5 [deps 2/3] RUN ...",
// then "#5 CACHED" or "#5 DONE 1.2s") to tell which stages' steps all came
// from the cache. The classic builder's output names no stages; nothing is
// recorded from it.
type stageSteps struct {
	partial []byte
	stage   map[string]string // vertex number -> stage, for steps other than FROM
	cached  map[string]bool   // vertex number -> reported CACHED
	ran     map[string]bool   // vertex number -> reported DONE or ERROR
}

var stepLine = regexp.MustCompile(`^#(\d+) \[(?:[^\]]* )?([^ \]]+) \d+/\d+\] (.*)$`)

func (s *stageSteps) Write(p []byte) (int, error) {
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		s.line(string(s.partial[:i]))
		s.partial = s.partial[i+1:]
	}
}

func (s *stageSteps) line(l string) {
	if s.stage == nil {
		s.stage, s.cached, s.ran = map[string]string{}, map[string]bool{}, map[string]bool{}
	}
	if m := stepLine.FindStringSubmatch(l); m != nil {
		if !strings.HasPrefix(m[3], "FROM ") {
			s.stage[m[1]] = strings.ToLower(m[2])
		}
		return
	}
	num, rest, ok := strings.Cut(strings.TrimPrefix(l, "#"), " ")
	if !ok || !strings.HasPrefix(l, "#") {
		return
	}
	switch {
	case rest == "CACHED":
		s.cached[num] = true
	case strings.HasPrefix(rest, "DONE") || strings.HasPrefix(rest, "ERROR"):
		s.ran[num] = true
	}
}

// allCached: the build showed steps of stage, and each was CACHED.
func (s *stageSteps) allCached(stage string) bool {
	if s == nil {
		return false
	}
	seen := false
	for num, st := range s.stage {
		if st != strings.ToLower(stage) {
			continue
		}
		if !s.cached[num] || s.ran[num] {
			return false
		}
		seen = true
	}
	return seen
}
