package targets

import (
	"bytes"
	"regexp"
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
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, err
	}
	final := len(stages) - 1
	for i, st := range stages {
		if target != "" && strings.EqualFold(st.Name, target) {
			final = i
			break
		}
	}
	if final < 0 {
		return nil, nil
	}
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
	var out []string
	for i := 0; i < final; i++ {
		if needed[i] && stages[i].Name != "" {
			out = append(out, strings.ToLower(stages[i].Name))
		}
	}
	return out, nil
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
