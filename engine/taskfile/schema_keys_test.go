package taskfile

import (
	"slices"
	"testing"
)

func TestKeys(t *testing.T) {
	keys := Keys()
	for _, want := range []string{"version", "cache.max_size", "targets.<name>.build.context",
		"services.<name>.ready.tcp", "secrets.<name>.env", "targets.<name>.when.branch", "environments"} {
		if !slices.Contains(keys, want) {
			t.Errorf("Keys() lacks %s: %v", want, keys)
		}
	}
	if slices.Contains(keys, "targets.<name>.name") {
		t.Error("Keys() lists a field the file cannot set")
	}
}
