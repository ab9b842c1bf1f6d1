// Package targettest holds what the tests of the action packages share:
// an Env for a fresh project (cleaned up when the test ends), output
// buffers and an Exec writing to them.
package targettest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/dockertest"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// RandHex returns n random bytes in hex, for names no other test uses.
func RandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Env connects to the local engine and returns an Env for a fresh
// project that knows kinds. Every container and network labelled with
// that project is removed when the test ends, pass or fail.
func Env(t *testing.T, kinds ...targets.Kind) *targets.Env {
	t.Helper()
	dockertest.Short(t)
	e := NewEnv(t, kinds...)
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
		dockertest.Remove(ctx, cli, docker.LabelProject+"="+e.Project)
	})
	return e
}

// NewEnv is an Env for a fresh project with an empty task file that
// knows kinds, not connected yet.
func NewEnv(t *testing.T, kinds ...targets.Kind) *targets.Env {
	return &targets.Env{
		File: &taskfile.File{
			Dir:      t.TempDir(),
			Services: map[string]*taskfile.Service{},
			Targets:  map[string]*taskfile.Target{},
		},
		Project: "test" + RandHex(6),
		RunID:   "run" + RandHex(6),
		Secret:  func(string) (string, error) { return "", nil },
		Mask:    func(string) {},
		Kinds:   kinds,
	}
}

// Objects counts the containers and networks of e's project.
func Objects(t *testing.T, e *targets.Env) (containers, networks int) {
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

// SyncBuffer is a goroutine-safe buffer for output and progress.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Exec returns an Exec whose output and progress land in buffers.
func Exec(tg *taskfile.Target) (x *engine.Exec, stdout, stderr, progress *SyncBuffer) {
	var out, errb, prog SyncBuffer
	return &engine.Exec{
		Target:   tg,
		Stdout:   &out,
		Stderr:   &errb,
		Progress: func(m string) { prog.Write([]byte(m + "\n")) },
		Deps:     map[string]engine.Outputs{},
	}, &out, &errb, &prog
}

// Reporter records each target's final status and output.
type Reporter struct {
	mu     sync.Mutex
	status map[string]engine.Status
	Out    SyncBuffer
}

// NewReporter is a Reporter with nothing recorded.
func NewReporter() *Reporter { return &Reporter{status: map[string]engine.Status{}} }

func (r *Reporter) Start(target, reason string) {}

func (r *Reporter) Output(string) (io.Writer, io.Writer) { return &r.Out, &r.Out }

func (r *Reporter) Progress(target, msg string) {}

func (r *Reporter) Finish(res *engine.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status[res.Target] = res.Status
}

// Status is target's final status ("" when it did not finish).
func (r *Reporter) Status(target string) engine.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status[target]
}
