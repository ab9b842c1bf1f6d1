package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
)

// listTargets prints every target with its description.
func listTargets(p *dproject, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, n := range p.File.TargetNames() {
		t := p.File.Targets[n]
		mark := ""
		if n == p.File.Default {
			mark = " (default)"
		}
		// Names and descriptions come from the task file: escaped, they
		// cannot drive the terminal.
		fmt.Fprintf(tw, "%s\t%s%s\n", ui.Escape(n), ui.Escape(t.Desc), mark)
	}
	return tw.Flush()
}

// printGraph prints the dependency graph as DOT or Mermaid.
func printGraph(p *dproject, format string, w io.Writer) error {
	var b strings.Builder
	if format == "mermaid" {
		b.WriteString("graph TD\n")
	} else {
		b.WriteString("digraph dtask {\n  rankdir=LR;\n")
	}
	for _, n := range p.File.TargetNames() {
		t := p.File.Targets[n]
		if format == "mermaid" {
			fmt.Fprintf(&b, "  %s[\"%s (%s)\"]\n", mermaidID(n), strings.ReplaceAll(ui.Escape(n), `"`, "#quot;"), t.ActionKind())
			for _, d := range t.Deps {
				fmt.Fprintf(&b, "  %s --> %s\n", mermaidID(n), mermaidID(d))
			}
			continue
		}
		fmt.Fprintf(&b, "  %q [label=%q];\n", n, n+"\n"+t.ActionKind())
		for _, d := range t.Deps {
			fmt.Fprintf(&b, "  %q -> %q;\n", n, d)
		}
	}
	if format != "mermaid" {
		b.WriteString("}\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mermaidID(s string) string {
	return "t_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// clean removes containers and networks left by killed runs of this project.
func clean(ctx context.Context, p *dproject, w io.Writer) error {
	n, err := p.Env.Sweep(ctx)
	if err != nil {
		return err
	}
	if n.Containers+n.Networks == 0 {
		fmt.Fprintln(w, "nothing to remove: no leftovers of killed runs")
		return nil
	}
	fmt.Fprintf(w, "removed leftovers of killed runs: %d containers, %d networks\n", n.Containers, n.Networks)
	return nil
}
