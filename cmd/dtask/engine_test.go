package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/internal/stuckengine"
)

// hungEngine is an engine that never answers, as one that is wedged; the
// channel is closed when dtask's first request arrives.
func hungEngine(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	return stuckEngine(t, "", stuckengine.Hold)
}

// stuckEngine serves a stuckengine.Engine (see there what at and mode
// mean) until the test ends, and says its DOCKER_HOST and when the
// request it stops at arrives.
func stuckEngine(t *testing.T, at string, mode stuckengine.Mode) (string, <-chan struct{}) {
	t.Helper()
	e, err := stuckengine.Start(filepath.Join(t.TempDir(), "engine.sock"), at, mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e.Host, e.Reached
}

func engineProject(t *testing.T, host string) string {
	t.Helper()
	t.Setenv("DOCKER_HOST", host)
	dir := t.TempDir()
	src := "version = 1\n[targets.r]\nrun = { image = \"busybox\", cmd = [\"true\"] }\n"
	if err := os.WriteFile(filepath.Join(dir, "Taskfile.toml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "Taskfile.toml")
}

// hangGuard is how long a test waits for dtask before it calls it hung. It
// guards against hanging only: the time dtask takes is no test's business
// (a loaded machine can make anything slow); scripts/bench/interrupt
// measures how soon it returns.
const hangGuard = time.Minute

// runFor runs dtask in this process, cancelling its context (what Ctrl-C
// does) when cancelAt is closed (nil: never), and fails t if it hangs.
func runFor(t *testing.T, args []string, cancelAt <-chan struct{}) (code int, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, &out, &errb) }()
	select {
	case <-cancelAt:
		cancel()
	case code = <-done:
		return code, errb.String()
	case <-time.After(hangGuard):
		t.Fatalf("dtask %v hung: no return within %v", args, hangGuard)
	}
	select {
	case code = <-done:
		return code, errb.String()
	case <-time.After(hangGuard):
		t.Fatalf("dtask %v hung: no return within %v of its cancellation", args, hangGuard)
	}
	return 0, ""
}

// A hung engine is reported as unreachable, naming DOCKER_HOST, in one
// line: what ended the wait is the ping's own deadline (5 s), which the
// line names.
func TestEngineHungExits3(t *testing.T) {
	host, _ := hungEngine(t)
	code, stderr := runFor(t, []string{"-f", engineProject(t, host), "--output", "plain", "r"}, nil)
	if code != 3 {
		t.Fatalf("exit %d, want 3; stderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	want := "dtask: target r: docker engine unreachable at " + host + " (DOCKER_HOST): no answer within 5s"
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("stderr:\n%s\nwant the one line:\n%s", stderr, want)
	}
}

// A stopped engine (nothing at the socket) is reported at once: the line
// names the refused connection, not a deadline that passed.
func TestEngineStoppedExits3(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "gone.sock")
	code, stderr := runFor(t, []string{"-f", engineProject(t, host), "--output", "plain", "r"}, nil)
	want := "dtask: target r: docker engine unreachable at " + host + " (DOCKER_HOST): no such file or directory\n"
	if code != 3 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 3 and %q", code, stderr, want)
	}
}

// interrupted is all dtask says when Ctrl-C stopped it.
const interrupted = "dtask: interrupted\n"

// Ctrl-C while dtask waits for a hung engine's first answer ends dtask
// with 130, as interrupted, not as an unreachable engine (3).
func TestEngineHungInterrupt(t *testing.T) {
	host, reached := hungEngine(t)
	code, stderr := runFor(t, []string{"-f", engineProject(t, host), "--output", "plain", "r"}, reached)
	if code != 130 || stderr != interrupted {
		t.Errorf("exit %d, stderr %q; want 130 and %q", code, stderr, interrupted)
	}
}
