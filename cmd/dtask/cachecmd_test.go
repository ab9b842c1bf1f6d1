package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFakeEntry puts an entry with one inline member in the image cache,
// as a save would, so the utility commands can be tested without an engine.
func writeFakeEntry(t *testing.T, dir, hex, ref string, used time.Time) {
	t.Helper()
	entries := filepath.Join(dir, ".dtask", "images", "entries")
	os.MkdirAll(entries, 0o755)
	e := map[string]any{"id": "sha256:" + hex, "refs": []string{ref}, "kind": "build", "target": "image",
		"members": []map[string]any{{"name": "manifest.json", "type": '0', "mode": 0o644, "size": 2, "data": []byte("[]")}},
		"saved":   used}
	b, _ := json.Marshal(e)
	p := filepath.Join(entries, hex+".json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, used, used)
}

func TestCacheCommands(t *testing.T) {
	dir := t.TempDir()
	// cache_dir keeps the images beside the records (the default would
	// be the user's cache folder).
	os.WriteFile(filepath.Join(dir, "Taskfile.toml"), []byte("version = 1\ncache_dir = \".dtask\"\n[cache]\nmax_size = \"5GB\"\n[targets.cache]\nsh = \"echo target named cache\"\n"), 0o644)
	old := strings.Repeat("a", 64)
	recent := strings.Repeat("b", 64)
	writeFakeEntry(t, dir, old, "shop:old", time.Now().Add(-72*time.Hour))
	writeFakeEntry(t, dir, recent, "shop:new", time.Now())
	dtask := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"-f", filepath.Join(dir, "Taskfile.toml")}, args...), &out, &errb)
		return out.String() + errb.String(), code
	}

	out, code := dtask("--cache", "list")
	if code != 0 || !strings.Contains(out, "shop:new") || !strings.Contains(out, "3 days ago") || !strings.Contains(out, "budget 5 GB") {
		t.Fatalf("list (%d):\n%s", code, out)
	}
	if strings.Index(out, "shop:new") > strings.Index(out, "shop:old") {
		t.Errorf("list is not most recently used first:\n%s", out)
	}
	// A budget that fits one entry drops the least recently used one.
	out, code = dtask("--cache", "prune", "--max-size", "300B")
	if code != 0 || !strings.Contains(out, "removed aaaaaaaaaaaa shop:old") || strings.Contains(out, "shop:new") {
		t.Fatalf("prune (%d):\n%s", code, out)
	}
	if out, _ = dtask("--cache", "list"); strings.Contains(out, "shop:old") || !strings.Contains(out, "shop:new") {
		t.Errorf("after prune:\n%s", out)
	}
	if out, code = dtask("--cache", "prune", "--max-size", "lots"); code != 2 {
		t.Errorf("bad --max-size: exit %d\n%s", code, out)
	}
	if out, code = dtask("--cache", "clear"); code != 0 || !strings.Contains(out, "cleared") {
		t.Fatalf("clear (%d):\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, ".dtask", "images")); !os.IsNotExist(err) {
		t.Error("clear left the image cache")
	}
	// The utility does not take the name away from a target.
	if out, code = dtask("--output", "plain", "cache"); code != 0 || !strings.Contains(out, "target named cache") {
		t.Errorf("dtask cache (%d):\n%s", code, out)
	}
}
