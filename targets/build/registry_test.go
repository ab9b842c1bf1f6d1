package build

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/internal/dockertest"
)

// icRegistry is the fixture registry (scripts/fixtures/registry.sh) that
// serves the images a test's engine must lack at its first run.
const icRegistry = "127.0.0.1:5000"

// pushAway pushes ref (an image under icRegistry) and removes it from
// the engine: a run must pull it.
func pushAway(t *testing.T, p *icProject, ref string) {
	t.Helper()
	script, _ := filepath.Abs("../../scripts/fixtures/registry.sh")
	if out, err := exec.Command(script, "start").CombinedOutput(); err != nil {
		dockertest.Need(t, "fixture registry unavailable: "+strings.TrimSpace(string(out))+": "+err.Error(), "make registry")
	}
	if out, err := exec.Command("docker", "push", "-q", ref).CombinedOutput(); err != nil {
		t.Fatalf("pushing %s: %v\n%s", ref, err, out)
	}
	t.Cleanup(func() { _ = dropFromRegistry(ref) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _ = p.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if p.has(ref) {
		t.Fatalf("%s is still in the engine", ref)
	}
}

// dropFromRegistry deletes ref's manifest from icRegistry: from then on
// only the image cache can give an engine that image.
func dropFromRegistry(ref string) error {
	name, tag, _ := strings.Cut(strings.TrimPrefix(ref, icRegistry+"/"), ":")
	url := "http://" + icRegistry + "/v2/" + name + "/manifests/"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "HEAD", url+tag, nil)
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"}, ", "))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("finding the manifest of %s in the registry: %w", ref, err)
	}
	res.Body.Close()
	digest := res.Header.Get("Docker-Content-Digest")
	if res.StatusCode != http.StatusOK || digest == "" {
		return fmt.Errorf("finding the manifest of %s in the registry: %s", ref, res.Status)
	}
	req, _ = http.NewRequestWithContext(ctx, "DELETE", url+digest, nil)
	if res, err = http.DefaultClient.Do(req); err != nil {
		return fmt.Errorf("deleting %s from the registry: %w", ref, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return fmt.Errorf("deleting %s from the registry: %s", ref, res.Status)
	}
	return nil
}
