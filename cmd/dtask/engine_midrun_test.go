package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/internal/stuckengine"
)

// midRunPoints are the requests of a run target at which the stuck engine
// fails, after answering the ping and the requests before: the image
// inspect and the container create.
func midRunPoints() []string { return []string{"/images/busybox/json", "/containers/create"} }

// An engine that dies in the middle of a run, after answering the ping and
// the first requests, is reported as unreachable (exit 3) in one line
// naming DOCKER_HOST, not as the target failing (exit 1).
func TestEngineDiesMidRunExits3(t *testing.T) {
	for _, at := range midRunPoints() {
		t.Run(strings.TrimPrefix(at, "/"), func(t *testing.T) { diesMidRun(t, at) })
	}
}

func diesMidRun(t *testing.T, at string) {
	host, reached := stuckEngine(t, at, stuckengine.Drop)
	code, stderr := runFor(t, []string{"-f", engineProject(t, host), "--output", "plain", "r"}, nil)
	select {
	case <-reached:
	default:
		t.Fatalf("dtask never reached the failing request; exit %d, stderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 3 || len(lines) != 1 ||
		!strings.Contains(lines[0], "docker engine unreachable at "+host+" (DOCKER_HOST)") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 3 and one line naming %s (DOCKER_HOST)", code, stderr, host)
	}
}

// SIGINT to the dtask process while the engine hangs in the middle of the
// run ends it with 130, as interrupted: dtask gives up on the request the
// engine never answers, and, when the engine answers nothing more (not
// even a ping), on the clean-up. (How soon: scripts/bench/interrupt.)
func TestEngineHungMidRunSIGINT(t *testing.T) {
	for _, at := range midRunPoints() {
		for name, mode := range map[string]stuckengine.Mode{"hold": stuckengine.Hold, "hold-all": stuckengine.HoldAll} {
			t.Run(name+at, func(t *testing.T) { hungMidRunSIGINT(t, at, mode) })
		}
	}
}

func hungMidRunSIGINT(t *testing.T, at string, mode stuckengine.Mode) {
	host, reached := stuckEngine(t, at, mode)
	taskfile := engineProject(t, host)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// TestMain runs mainCode when the test binary is started as dtask.
	bin := filepath.Join(t.TempDir(), "dtask")
	if err := os.Symlink(self, bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", taskfile, "--output", "plain", "r")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	select {
	case <-reached:
	case <-exited:
		t.Fatalf("dtask ended (exit %d) before the failing request; stderr:\n%s", cmd.ProcessState.ExitCode(), stderr.String())
	case <-time.After(hangGuard):
		t.Fatalf("dtask hung: it did not reach the failing request within %v", hangGuard)
	}
	// The fake engine holds the request, and never answers it: dtask is
	// waiting for the answer, and must give up on it.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(hangGuard):
		t.Fatalf("dtask hung: still running %v after SIGINT; stderr:\n%s", hangGuard, stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 || stderr.String() != interrupted {
		t.Errorf("exit %d after SIGINT, stderr %q; want 130 and %q", code, stderr.String(), interrupted)
	}
}
