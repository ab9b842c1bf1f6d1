package vars

import (
	"strings"
	"testing"
)

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"main":                   "main",
		"feature/login":          "feature-login",
		"Feature/Login":          "feature-login",
		"fix/über#12 x":          "fix---ber-12-x", // each byte of ü is one "-"
		"-lead/.dot":             "lead-.dot",
		".hidden":                "hidden",
		"release-1.2_rc":         "release-1.2_rc",
		"":                       "",
		strings.Repeat("a", 200): strings.Repeat("a", 128),
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGitBranchSlugBuiltin(t *testing.T) {
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/heads/feature/Login"}
	l := Builtins(t.TempDir(), func(k string) string { return env[k] }, "", "/tf")
	if v, _ := l.Func("GIT_BRANCH"); v != "feature/Login" {
		t.Fatalf("GIT_BRANCH = %q", v)
	}
	if v, ok := l.Func("GIT_BRANCH_SLUG"); !ok || v != "feature-login" {
		t.Errorf("GIT_BRANCH_SLUG = %q, %v; want feature-login", v, ok)
	}
}
