package ui

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dtask-dev/dtask/engine"
)

// stepSummary appends the summary table as Markdown to GitHub's job
// summary, shown on the run's page. A failure to write it is only a
// warning in the log: the run's result does not depend on it.
func (g *grouped) stepSummary(results []*engine.Result, elapsed time.Duration) {
	var b strings.Builder
	b.WriteString("### dtask\n\n| Target | Result | Time | Detail |\n|---|---|---|---|\n")
	for _, row := range summaryRows(results) {
		for i, c := range row {
			row[i] = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(g.mask.Mask(c))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row[0], row[1], row[2], row[3])
	}
	fmt.Fprintf(&b, "\n%s in %s\n", counts(results), duration(elapsed))
	f, err := os.OpenFile(g.summary, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		_, err = f.WriteString(b.String())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(g.out, "::warning::dtask: writing the job summary: %s\n", escapeData(err.Error()))
	}
}
