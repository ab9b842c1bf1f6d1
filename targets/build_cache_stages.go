package targets

import (
	"bytes"
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
