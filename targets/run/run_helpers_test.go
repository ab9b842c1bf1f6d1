package targets

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/dockertest"
	"github.com/dtask-dev/dtask/targets/docker"
)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testEnv connects to the local engine and returns an Env for a fresh
// project. Every container and network labelled with that project is
// removed when the test ends, pass or fail.
func testEnv(t *testing.T) *Env {
	t.Helper()
	dockertest.Short(t)
	e := newTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cli, err := e.Docker(ctx)
	if err != nil {
		dockertest.Need(t, "no Docker engine: "+err.Error(), dockertest.Enable)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.Cleanup(ctx); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
		sweepProject(ctx, t, cli, e.Project)
	})
	return e
}

// newTestEnv is an Env for a fresh project with an empty task file, not
// connected yet.
func newTestEnv(t *testing.T) *Env {
	return &Env{
		File: &taskfile.File{
			Dir:      t.TempDir(),
			Services: map[string]*taskfile.Service{},
			Targets:  map[string]*taskfile.Target{},
		},
		Project: "test" + randHex(6),
		RunID:   "run" + randHex(6),
		Secret:  func(string) (string, error) { return "", nil },
		Mask:    func(string) {},
		Kinds:   Builtin(),
	}
}

// sweepProject removes whatever a test left under its project label.
func sweepProject(ctx context.Context, t *testing.T, cli *docker.Client, project string) {
	dockertest.Remove(ctx, cli, docker.LabelProject+"="+project)
}

// projectObjects counts the containers and networks of e's project.
func projectObjects(t *testing.T, e *Env) (containers, networks int) {
	t.Helper()
	ctx := context.Background()
	cli, err := e.Docker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, n, err := dockertest.Objects(ctx, cli, docker.LabelProject+"="+e.Project)
	if err != nil {
		t.Fatal(err)
	}
	return len(c), len(n)
}

// needImage fails (in CI) or skips when a fixture image is missing.
func needImage(t *testing.T, refs ...string) {
	t.Helper()
	dockertest.Images(t, refs...)
}

// syncBuffer is a goroutine-safe buffer for output and progress.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testExec returns an Exec whose output and progress land in buffers.
func testExec(tg *taskfile.Target) (*engine.Exec, *syncBuffer, *syncBuffer, *syncBuffer) {
	var out, errb, prog syncBuffer
	return &engine.Exec{
		Target:   tg,
		Stdout:   &out,
		Stderr:   &errb,
		Progress: func(m string) { prog.Write([]byte(m + "\n")) },
		Deps:     map[string]engine.Outputs{},
	}, &out, &errb, &prog
}

// runTarget adds a run target to e's file and runs it.
func runTarget(t *testing.T, ctx context.Context, e *Env, tg *taskfile.Target) (string, string, error) {
	t.Helper()
	e.File.Targets[tg.Name] = tg
	x, out, errb, _ := testExec(tg)
	_, err := newRun(e, tg).Run(ctx, x)
	return out.String(), errb.String(), err
}
