package ui

import (
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
)

// alignRows lays a table out exactly as text/tabwriter does, including
// wide runes, empty cells and the cells it hands to tabwriter itself.
func TestAlignRowsMatchesTabwriter(t *testing.T) {
	for name, rows := range map[string][][]string{
		"plain":    {{"TARGET", "RESULT", "TIME", "DETAIL"}, {"a", "cached", "-", "up to date"}, {"long-name", "ran", "1.2s", ""}},
		"runes":    {{"ä", "é€", "x", "y"}, {"日本語", "", "-", "ü"}},
		"empty":    {{"", "", "", ""}, {"a", "", "", "b"}},
		"tab":      {{"a\tb", "c"}, {"d", "e"}},
		"unequal":  {{"a", "b", "c"}, {"d", "e"}},
		"one col":  {{"a"}, {"bb"}},
		"newline":  {{"a", "b\nc"}, {"dd", "e"}},
		"trailing": {{"a ", "b  ", "c"}},
	} {
		var got strings.Builder
		alignRows(&got, rows)
		var want strings.Builder
		tw := tabwriter.NewWriter(&want, 0, 0, summaryPad, ' ', 0)
		for _, row := range rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
		if got.String() != want.String() {
			t.Errorf("%s: got\n%q\nwant\n%q", name, got.String(), want.String())
		}
	}
}
