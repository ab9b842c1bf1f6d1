package taskfile

import (
	"fmt"
	"sort"
	"strings"
)

// Suggest returns the candidate closest to name when it is close enough to
// be a likely typo, or "" when none is.
func Suggest(name string, candidates []string) string {
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted) // ties go to the same candidate every run
	best, bestDist := "", -1
	lname := strings.ToLower(name)
	for _, c := range sorted {
		if c == name {
			continue
		}
		d := distance(lname, strings.ToLower(c))
		if d > maxTypos(name, c) {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// didYouMean is Suggest formatted as a message suffix.
func didYouMean(name string, candidates []string) string {
	if s := Suggest(name, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// maxTypos scales the tolerated edit distance with the length of the words,
// so that "db" does not suggest "go" but "servcies" suggests "services".
func maxTypos(a, b string) int {
	n := min(len([]rune(a)), len([]rune(b)))
	switch {
	case n <= 1:
		return 0
	case n <= 2:
		return 1
	case n <= 5:
		return 2
	}
	return 3
}

// distance is the optimal-string-alignment Damerau-Levenshtein distance:
// insertions, deletions, substitutions and swaps of neighbours cost 1.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
