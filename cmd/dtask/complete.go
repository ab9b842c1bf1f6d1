package main

import (
	"fmt"
	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"io"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// printCompletion prints the completion script for shell: flags and their
// values from the kong model; target and environment names asked of
// `dtask --complete` when completing, so that they follow the task file.
func printCompletion(shell string, w io.Writer) error {
	var err error
	switch shell {
	case "bash":
		_, err = io.WriteString(w, bashCompletion(flags()))
	case "zsh":
		// zsh runs the bash function through its bashcompinit layer.
		_, err = io.WriteString(w, "#compdef dtask\nautoload -U +X bashcompinit && bashcompinit\n"+bashCompletion(flags()))
	case "fish":
		_, err = io.WriteString(w, fishCompletion(flags()))
	}
	return err
}

// complete prints the names a completion asks for, one per line.
func complete(c *cli, w io.Writer) {
	p, err := load(c, &ui.Masker{})
	if err != nil {
		return
	}
	var names []string
	switch c.Complete {
	case "targets":
		names = p.Raw.TargetNames()
	case "envs":
		for n := range p.Raw.Environments {
			names = append(names, n)
		}
		slices.Sort(names)
	}
	for _, n := range names {
		fmt.Fprintln(w, n)
	}
}

// flagValues says what a flag that takes a value completes to: an
// enum's words, file names, environment names, or nothing.
func flagValues(f *kong.Flag) (words string, files bool) {
	switch {
	case f.Enum != "":
		return strings.TrimSpace(strings.ReplaceAll(f.Enum, ",", " ")), false
	case f.Name == "env":
		return "$(dtask \"${f[@]}\" --complete envs 2>/dev/null)", false
	}
	return "", f.PlaceHolder == "FILE"
}

func bashCompletion(fl []*kong.Flag) string {
	var names, cases []string
	for _, f := range fl {
		names = append(names, "--"+f.Name)
		opts := "--" + f.Name
		if f.Short != 0 {
			names = append(names, "-"+string(f.Short))
			opts = "-" + string(f.Short) + "|" + opts
		}
		if f.IsBool() {
			continue
		}
		switch words, files := flagValues(f); {
		case files:
			cases = append(cases, fmt.Sprintf("\t%s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;", opts))
		case words != "":
			cases = append(cases, fmt.Sprintf("\t%s) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;", opts, words))
		default:
			cases = append(cases, fmt.Sprintf("\t%s) COMPREPLY=(); return ;;", opts))
		}
	}
	return `# bash completion for dtask: made by ` + "`dtask --completion bash`" + `.
_dtask() {
	local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" f=() i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case "${COMP_WORDS[i]}" in
		-f|--file) f=(-f "${COMP_WORDS[i+1]}") ;;
		esac
	done
	case "$prev" in
` + strings.Join(cases, "\n") + `
	esac
	if [[ "$cur" == -* ]]; then
		COMPREPLY=($(compgen -W "` + strings.Join(names, " ") + `" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -W "$(dtask "${f[@]}" --complete targets 2>/dev/null)" -- "$cur"))
}
complete -F _dtask dtask
`
}

func fishCompletion(fl []*kong.Flag) string {
	var b strings.Builder
	b.WriteString("# fish completion for dtask: made by `dtask --completion fish`.\n")
	b.WriteString("complete -c dtask -f -a '(dtask --complete targets 2>/dev/null)'\n")
	for _, f := range fl {
		line := "complete -c dtask -l " + f.Name
		if f.Short != 0 {
			line += " -s " + string(f.Short)
		}
		if !f.IsBool() {
			switch words, files := flagValues(f); {
			case f.Name == "env":
				line += " -x -a '(dtask --complete envs 2>/dev/null)'"
			case files:
				line += " -r -F"
			case words != "":
				line += " -x -a '" + words + "'"
			default:
				line += " -x"
			}
		}
		line += " -d '" + strings.ReplaceAll(strings.ReplaceAll(f.Help, "$$", "$"), "'", `\'`) + "'"
		b.WriteString(line + "\n")
	}
	return b.String()
}
