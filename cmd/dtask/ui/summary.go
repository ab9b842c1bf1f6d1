package ui

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dtask-dev/dtask/engine"
)

// summaryRows turns results into the summary table's rows.
func summaryRows(results []*engine.Result) [][]string {
	rows := make([][]string, 0, len(results))
	for _, r := range results {
		rows = append(rows, []string{r.Target, r.Status.String(), durationCell(r), detail(r)})
	}
	return rows
}

func durationCell(r *engine.Result) string {
	if r.Status == engine.Ran || r.Status == engine.Failed {
		return duration(r.Duration)
	}
	return "-"
}

// detail is the summary's last column: the image a target made, or why
// it ran, was skipped or failed.
func detail(r *engine.Result) string {
	if img := r.Outputs["image"]; img != "" && (r.Status == engine.Ran || r.Status == engine.Cached) {
		return shortID(img)
	}
	if r.Status == engine.Failed {
		return oneLine(errText(r))
	}
	return oneLine(r.Reason)
}

// shortID shortens an image ID as docker does; an image reference (a
// deploy's) is shown whole.
func shortID(id string) string {
	hex := strings.TrimPrefix(id, "sha256:")
	if len(hex) < 12 || strings.Trim(hex, "0123456789abcdef") != "" {
		return id
	}
	return hex[:12]
}

// oneLine is the first line of s, without control codes, cut to fit a table.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s = clean(s, false)
	if r := []rune(s); len(r) > 100 {
		s = string(r[:97]) + "..."
	}
	return s
}

// summaryText renders the table without styling, for plain output.
func summaryText(results []*engine.Result, elapsed time.Duration) string {
	if len(results) == 0 {
		return ""
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tRESULT\tTIME\tDETAIL")
	for _, row := range summaryRows(results) {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	fmt.Fprintf(&b, "%s in %s\n", counts(results), duration(elapsed))
	return b.String()
}

// counts says how many targets ended each way: "2 ran, 1 cached".
func counts(results []*engine.Result) string {
	n := map[engine.Status]int{}
	for _, r := range results {
		n[r.Status]++
	}
	var parts []string
	for st := engine.Ran; st <= engine.WouldRun; st++ {
		if n[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[st], st))
		}
	}
	return strings.Join(parts, ", ")
}
