package build

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/dockertest"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/targettest"
)

// btEnv connects to the local engine and returns an Env whose task file
// lives in a fresh folder. Docker tests skip only when there is no engine
// and CI is not "true".
func btEnv(t *testing.T) (*targets.Env, *docker.Client) {
	t.Helper()
	dockertest.Short(t)
	e := &targets.Env{
		File:    &taskfile.File{Dir: t.TempDir(), Targets: map[string]*taskfile.Target{}},
		Project: "buildtest",
		RunID:   "run-" + btRand(),
		Secret:  func(name string) (string, error) { return "", nil },
		Mask:    func(string) {},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cli, err := e.Docker(ctx)
	if err != nil {
		dockertest.Need(t, "no Docker engine: "+err.Error(), dockertest.Enable)
	}
	return e, cli
}

func btRand() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// btTag returns a fresh dtask-test/ tag, removed (with the image it names
// and its untagged parents) when the test ends.
func btTag(t *testing.T, cli *docker.Client, name string) string {
	t.Helper()
	tag := "dtask-test/" + name + "-" + btRand() + ":latest"
	btRemoveAfter(t, cli, tag)
	return tag
}

func btRemoveAfter(t *testing.T, cli *docker.Client, ref string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
}

// btNeedBusybox fails (or skips outside CI) when the fixture base image
// is missing.
func btNeedBusybox(t *testing.T, cli *docker.Client) {
	t.Helper()
	id, err := cli.ImageID(context.Background(), "busybox:latest")
	if err != nil || id == "" {
		dockertest.Need(t, fmt.Sprintf("busybox:latest fixture missing: %v", err), "make fixtures")
	}
}

// btBuild runs a build target and returns its outputs, its output text and
// the steps it reported as progress.
func btBuild(t *testing.T, e *targets.Env, tg *taskfile.Target) (engine.Outputs, string, []string, error) {
	t.Helper()
	if tg.Name == "" {
		tg.Name = "image"
	}
	out := &targettest.SyncBuffer{}
	var steps []string
	x := &engine.Exec{
		Target:   tg,
		Dir:      e.File.Dir,
		Stdout:   out,
		Stderr:   out,
		Progress: func(s string) { steps = append(steps, s) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	act := New(e, tg)
	if err := act.(*buildAction).plan(ctx, &btPlanner{}); err != nil {
		return nil, out.String(), steps, err
	}
	outs, err := act.Run(ctx, x)
	btRemoveIntermediates(t, act.(*buildAction).e, out.String())
	return outs, out.String(), steps, err
}

var btIntermediate = regexp.MustCompile(`(?m)^ ---> ([0-9a-f]{12})$`)

// btRemoveIntermediates removes the images a classic build left for the
// steps before a failure (docker build keeps them as cache; a test must
// not). Images still under a tagged one are kept; the tag's removal
// prunes them.
func btRemoveIntermediates(t *testing.T, e *targets.Env, text string) {
	ids := btIntermediate.FindAllStringSubmatch(text, -1)
	t.Cleanup(func() {
		cli, err := e.Docker(context.Background())
		if err != nil {
			return
		}
		for i := len(ids) - 1; i >= 0; i-- {
			// Base images (the FROM step prints their ID) are tagged: keep.
			img, err := cli.ImageInspect(context.Background(), ids[i][1])
			if err != nil || len(img.RepoTags) > 0 {
				continue
			}
			_, _ = cli.ImageRemove(context.Background(), ids[i][1], client.ImageRemoveOptions{})
		}
	})
}

// btPlanner records what Plan adds, hashing files by content itself (the
// engine's stat index is not what is under test).
type btPlanner struct {
	lines   []string
	watched []string
}

func (p *btPlanner) Def(label string, v any) { p.lines = append(p.lines, "def."+label+"="+btJSON(v)) }
func (p *btPlanner) Image(label, id string)  { p.lines = append(p.lines, "image."+label+"="+id) }
func (p *btPlanner) Input(label, v string)   { p.lines = append(p.lines, label+"="+v) }
func (p *btPlanner) ImageToFetch(label, placeholder string, _ func(context.Context) (string, error)) {
	p.Image(label, placeholder)
}
func (p *btPlanner) Watch(paths ...string) { p.watched = append(p.watched, paths...) }
func (p *btPlanner) Files(root string, rel []string) error {
	for _, r := range rel {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(r)))
		if err != nil {
			return err
		}
		p.lines = append(p.lines, "src "+r+"="+btSum(b))
	}
	p.watched = append(p.watched, root)
	return nil
}

func (p *btPlanner) key() string { return btSum([]byte(strings.Join(p.lines, "\n"))) }

func btJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func btSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// btPlan runs Plan for a build target and returns the key and its lines.
func btPlan(t *testing.T, e *targets.Env, tg *taskfile.Target) (string, []string) {
	t.Helper()
	p := &btPlanner{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := New(e, tg).(*buildAction).plan(ctx, p); err != nil {
		t.Fatal(err)
	}
	return p.key(), p.lines
}

// btInspect returns the image's inspect result.
func btInspect(t *testing.T, cli *docker.Client, ref string) client.ImageInspectResult {
	t.Helper()
	res, err := cli.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatalf("inspect %s: %v", ref, err)
	}
	return res
}

// btListing runs find in a throwaway container of image and returns its
// sorted output: one "mode size path" line per entry under /ctx.
func btListing(t *testing.T, image string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", image, "sh", "-c",
		"cd /ctx && find . -exec stat -c '%A %s %n' {} + | sort -k3").CombinedOutput()
	if err != nil {
		t.Fatalf("listing %s: %v\n%s", image, err, out)
	}
	return string(out)
}

// testBaseTag is the layout's name for FROM image ref of build target.
func testBaseTag(target, ref string) string {
	return (&buildAction{t: &taskfile.Target{Name: target}}).baseTag(ref)
}
