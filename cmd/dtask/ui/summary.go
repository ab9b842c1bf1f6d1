package ui

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

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
	rows := append([][]string{{"TARGET", "RESULT", "TIME", "DETAIL"}}, summaryRows(results)...)
	alignRows(&b, rows)
	fmt.Fprintf(&b, "%s in %s\n", counts(results), duration(elapsed))
	return b.String()
}

// summaryPad is the space between the table's columns.
const summaryPad = 2

// alignRows writes rows as text/tabwriter would with padding summaryPad
// (every column but the last as wide as its widest cell, in runes):
// tabwriter's cell per field took a tenth of a 10,000-target no-op run.
// Rows of unequal length, or a cell holding a tab or a line break, which
// tabwriter would split, go through tabwriter itself.
func alignRows(b *strings.Builder, rows [][]string) {
	widths := make([]int, len(rows[0])-1)
	size := 0
	for _, row := range rows {
		if len(row) != len(rows[0]) {
			tabRows(b, rows)
			return
		}
		for i, cell := range row {
			if strings.ContainsAny(cell, "\t\n") {
				tabRows(b, rows)
				return
			}
			size += len(cell) + summaryPad
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(cell))
			}
		}
	}
	b.Grow(size + len(rows)*len(widths)*8)
	for _, row := range rows {
		for i, w := range widths {
			b.WriteString(row[i])
			for range w - utf8.RuneCountInString(row[i]) + summaryPad {
				b.WriteByte(' ')
			}
		}
		b.WriteString(row[len(widths)])
		b.WriteByte('\n')
	}
}

// tabRows is alignRows through text/tabwriter.
func tabRows(b *strings.Builder, rows [][]string) {
	tw := tabwriter.NewWriter(b, 0, 0, summaryPad, ' ', 0)
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
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
