package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const countTaskfile = `version = 1
[targets.count]
run = { image = "busybox:latest", caches = ["/cache"], cmd = ["sh", "-c", "n=$(cat /cache/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /cache/n; echo count=$n"] }
`

// projectID is the project label dtask gives the task file's objects.
func projectID(taskfile string) string {
	sum := sha256.Sum256([]byte(taskfile))
	return hex.EncodeToString(sum[:6])
}

// projectVolumes lists the cache volumes of the task file's project.
func projectVolumes(t *testing.T, taskfile string) []string {
	t.Helper()
	out, err := exec.Command("docker", "volume", "ls", "-q", "--filter", "label=dev.dtask.project="+projectID(taskfile),
		"--filter", "label=dev.dtask.cache").Output()
	if err != nil {
		t.Fatalf("docker volume ls: %v", err)
	}
	return strings.Fields(string(out))
}

// removeVolumes removes the project's cache volumes: what a new CI machine
// lacks, while its user cache folder is restored by the CI cache.
func removeVolumes(t *testing.T, taskfile string) {
	t.Helper()
	vols := projectVolumes(t, taskfile)
	if len(vols) != 1 {
		t.Fatalf("cache volumes: %v", vols)
	}
	if out, err := exec.Command("docker", "volume", "rm", vols[0]).CombinedOutput(); err != nil {
		t.Fatalf("docker volume rm: %v\n%s", err, out)
	}
}

// TestCacheVolumeCarriedAcrossFreshEngine: a cache volume a run made is
// kept in the user cache folder (what the CI templates cache); on an
// engine without the volume (a new CI machine) it is restored before the
// container starts, and kept again after; --cache clear removes the
// archive too. The runs are CI runs: outside CI dtask does not wait at
// exit for the copy (the engine keeps its volumes).
func TestCacheVolumeCarriedAcrossFreshEngine(t *testing.T) {
	needDocker(t)
	dir := t.TempDir()
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	taskfile := filepath.Join(dir, "Taskfile.toml")
	writeFile(t, taskfile, countTaskfile)
	t.Cleanup(func() {
		for _, v := range projectVolumes(t, taskfile) {
			_ = exec.Command("docker", "volume", "rm", "-f", v).Run()
		}
	})
	for i, want := range []string{"count=1", "count=2", "count=3"} {
		if i > 0 {
			removeVolumes(t, taskfile)
		}
		out, err := runDtaskEnv(t, dir, []string{"CI=true"}, "--force", "count")
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("run %d (the volume restored from the cache folder): %v, want %s\n%s", i+1, err, want, out)
		}
		archives, _ := filepath.Glob(filepath.Join(xdg, "dtask", "*", "volumes", "dtask-cache-*.tar"))
		if len(archives) != 1 {
			t.Fatalf("run %d: archives in the user cache folder: %v", i+1, archives)
		}
	}
	out, err := runDtask(t, dir, "--cache", "clear")
	if err != nil || !strings.Contains(out, "removed the archive of cache volume") {
		t.Fatalf("--cache clear: %v\n%s", err, out)
	}
	if left, _ := filepath.Glob(filepath.Join(xdg, "dtask", "*", "volumes", "dtask-cache-*")); len(left) != 0 {
		t.Errorf("archives left after --cache clear: %v", left)
	}
	if left := dockerIDs(t, taskfile, "container", true); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}
