package compose

import (
	"slices"
	"testing"
)

// TestLoaderWarnsUnsetVariables: a variable used without a default and not
// set is a warning naming the second file, line and column that use it;
// one with a default, a set one and an escaped $$ are not; the value is
// still interpolated as empty, as compose does.
func TestLoaderWarnsUnsetVariables(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DTASK_TEST_SET", "x")
	write(t, dir, "a.yaml", "services:\n  db:\n    image: redis:${DTASK_TEST_TAG:-7}\n")
	write(t, dir, "b.yaml", "services:\n  db:\n    environment:\n      A: \"$$DTASK_TEST_ESC ${DTASK_TEST_SET}\"\n      B: ${DTASK_TEST_UNSET}\n")
	var got []string
	svcs, err := Loader{Warn: func(m string) { got = append(got, m) }}.Services(dir, []string{"a.yaml", "b.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"b.yaml:5:10: variable DTASK_TEST_UNSET is not set: an empty string is used (write ${DTASK_TEST_UNSET:-} if that is meant)"}
	if !slices.Equal(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
	if v, ok := svcs["db"].Env["B"]; !ok || v != "" {
		t.Errorf("B = %q, %v; want empty", v, ok)
	}
}
