package taskfile

import (
	"strings"
	"testing"

	"github.com/distribution/reference"
)

// TestPlainReference: the fast scan never passes what the parser refuses,
// and passes the usual references without asking it.
func TestPlainReference(t *testing.T) {
	usual := []string{"shop", "shop:abc1234", "shop-test:feature-login", "127.0.0.1:5000/shop:v1",
		"registry.example.com/team/app:1.2.3_rc", "localhost/x", "localhost:5000/a__b/c--d:t", "Host.Example/x:T"}
	for _, s := range usual {
		if !plainReference(s) {
			t.Errorf("plainReference(%q) = false, want true", s)
		}
	}
	odd := []string{"shop:feature/login", "Shop:x", "shop:", ":x", "a/:x", "a//b", "a._b", "shop:-x", "shop:.x",
		"-a", "a-", "a.", "a__", "a___b", "h-/x", "-h.io/x", "h.io:/x", "h.io:5x/x", "x:" + strings.Repeat("a", 129),
		"a@sha256:" + strings.Repeat("0", 64), strings.Repeat("a", 64), "[::1]:5000/x", "a b", "a\x00", "ü"}
	for _, s := range append(odd, usual...) {
		_, err := reference.ParseNormalizedNamed(s)
		if plainReference(s) && err != nil {
			t.Errorf("plainReference(%q) = true, but the parser says %v", s, err)
		}
	}
}

// TestCheckImages: a reference made invalid by a variable is an error at
// its key that names the variable (through [vars]) and offers
// ${GIT_BRANCH_SLUG}; valid ones, an empty one and targets not run are
// not reported.
func TestCheckImages(t *testing.T) {
	raw := &File{Vars: map[string]string{"IMAGE": "shop:${GIT_BRANCH}", "REG": "${REG:-127.0.0.1:5000}"},
		Targets: map[string]*Target{
			"img": {Build: &Build{Tags: []string{"ok:1", "${REG}/${IMAGE}"}}},
			"run": {Run: &Run{Image: "${IMAGE}"}, Services: []string{"db"}},
			"pub": {Push: &Push{Image: "", Tags: []string{"x:${GIT_BRANCH}"}}},
		},
		Services: map[string]*Service{"db": {Image: "Redis"}}}
	f := &File{Targets: map[string]*Target{
		"img": {Build: &Build{Tags: []string{"ok:1", "127.0.0.1:5000/shop:feature/login"}}},
		"run": {Run: &Run{Image: "sha256:" + strings.Repeat("ab", 32)}, Services: []string{"db"}},
		"pub": {Push: &Push{Tags: []string{"x:feature/login"}}},
	}, Services: map[string]*Service{"db": {Image: "Redis"}}}
	lookup := func(n string) (string, bool) {
		return map[string]string{"GIT_BRANCH": "feature/login", "REG": "127.0.0.1:5000"}[n], true
	}
	err := CheckImages(f, raw, lookup, []string{"img", "run"})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`target "img": build.tags[1] "127.0.0.1:5000/shop:feature/login" is not a valid image reference`,
		`GIT_BRANCH is "feature/login" (${GIT_BRANCH_SLUG}, "feature-login",`,
		`service "db": image "Redis" is not a valid image reference`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q\nlacks %q", msg, want)
		}
	}
	if n := len(err.(Errors)); n != 2 || strings.Contains(msg, "REG is") || strings.Contains(msg, `"pub"`) {
		t.Errorf("%d errors, want 2 (no REG, no pub): %v", n, msg)
	}
}
