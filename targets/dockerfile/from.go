package dockerfile

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Bases returns the images the FROM lines of src name, in order and without
// duplicates, with global ARGs substituted (their defaults, overridden by
// buildArgs). scratch and references to earlier stages are left out. With
// target set, stages after the target stage are ignored (the classic builder
// stops there; BuildKit needs even fewer).
func Bases(src []byte, buildArgs map[string]string, target, platform string) ([]string, error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, err
	}
	lex := shell.NewLex(res.EscapeToken)
	env := globalArgs(lex, metaArgs, buildArgs, platform)
	var (
		out   []string
		names = map[string]bool{}
		seen  = map[string]bool{}
	)
	for _, st := range stages {
		base, _, err := lex.ProcessWord(st.BaseName, shell.EnvsFromSlice(env))
		if err != nil {
			return nil, fmt.Errorf("FROM %s: %w", st.BaseName, err)
		}
		if base == "" {
			return nil, fmt.Errorf("FROM %s: base name is empty", st.BaseName)
		}
		lower := strings.ToLower(base)
		if !names[lower] && lower != "scratch" && !seen[base] {
			seen[base] = true
			out = append(out, base)
		}
		if st.Name != "" {
			names[strings.ToLower(st.Name)] = true
			if target != "" && strings.EqualFold(st.Name, target) {
				break
			}
		}
	}
	return out, nil
}

// globalArgs evaluates the ARGs before the first FROM in order: a build arg
// overrides the default, and a default may use the ARGs before it. The
// platform ARGs BuildKit predefines are there too, so FROM lines using
// them resolve.
func globalArgs(lex *shell.Lex, metaArgs []instructions.ArgCommand, buildArgs map[string]string, platform string) []string {
	env := platformArgs(platform)
	for _, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			v, ok := buildArgs[kv.Key]
			if !ok {
				if kv.Value == nil {
					continue
				}
				v, _, _ = lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(env))
			}
			env = setEnv(env, kv.Key, v)
		}
	}
	return env
}

func platformArgs(platform string) []string {
	osName, arch, variant := runtime.GOOS, runtime.GOARCH, ""
	if platform != "" {
		parts := strings.Split(platform, "/")
		osName = parts[0]
		if len(parts) > 1 {
			arch = parts[1]
		}
		if len(parts) > 2 {
			variant = parts[2]
		}
	}
	p := osName + "/" + arch
	if variant != "" {
		p += "/" + variant
	}
	host := runtime.GOOS + "/" + runtime.GOARCH
	return []string{
		"TARGETPLATFORM=" + p, "TARGETOS=" + osName, "TARGETARCH=" + arch, "TARGETVARIANT=" + variant,
		"BUILDPLATFORM=" + host, "BUILDOS=" + runtime.GOOS, "BUILDARCH=" + runtime.GOARCH, "BUILDVARIANT=",
	}
}

func setEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if strings.HasPrefix(kv, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}
