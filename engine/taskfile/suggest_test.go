package taskfile

import "testing"

func TestSuggest(t *testing.T) {
	cands := []string{"image", "test", "lint", "publish", "deploy", "ci", "db", "services", "targets"}
	for _, tt := range []struct{ name, want string }{
		{"imag", "image"},
		{"imgae", "image"}, // a swap counts once
		{"tset", "test"},
		{"Test", "test"},
		{"servcies", "services"},
		{"tragets", "targets"},
		{"dbb", "db"},
		{"publsh", "publish"},
		{"c", ""},  // one letter: too short to guess
		{"go", ""}, // "db" is two edits away
		{"kubernetes", ""},
		{"image", ""}, // an exact match is no suggestion
	} {
		if got := Suggest(tt.name, cands); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	// Ties go to the first in sorted order, whatever order candidates come in.
	if a, b := Suggest("ab", []string{"ac", "aa"}), Suggest("ab", []string{"aa", "ac"}); a != "aa" || b != "aa" {
		t.Errorf("tie broken as %q and %q, want aa", a, b)
	}
}

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"ab", "ba", 1}, {"ca", "abc", 3}, {"héllo", "hello", 1},
	} {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
