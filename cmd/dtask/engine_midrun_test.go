package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// midEngine is a fake Docker 20.10 engine (API 1.41) on a unix socket that
// answers what a run target asks for up to the first request whose path
// contains at, and fails there: with hang it holds the connection unanswered, as
// a wedged engine does; without, it drops it, as an engine that dies does.
// The channel is closed when that request arrives. Everything
// is closed when the test ends.
func midEngine(t *testing.T, at string, hang bool) (string, <-chan struct{}) {
	t.Helper()
	l, host := listenEngine(t)
	hold := holdConns(t)
	reached := make(chan struct{})
	var once sync.Once
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		switch {
		case r.URL.Path == "/_ping":
			fmt.Fprint(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/version"):
			fmt.Fprint(w, `{"Version":"20.10.24","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux"}`)
		case strings.Contains(r.URL.Path, at):
			once.Do(func() { close(reached) })
			c, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			if !hang {
				c.Close()
				return
			}
			hold(c)
		case strings.HasSuffix(r.URL.Path, "/containers/json"):
			fmt.Fprint(w, `[]`)
		case strings.HasSuffix(r.URL.Path, "/images/busybox/json"):
			fmt.Fprint(w, `{"Id":"sha256:`+strings.Repeat("ab", 32)+`","RepoTags":["busybox:latest"],"Config":{},"Os":"linux","Architecture":"amd64"}`)
		default:
			http.Error(w, `{"message":"not faked"}`, http.StatusNotImplemented)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return host, reached
}

// midRunPoints are the requests of a run target at which the fake engine
// fails: the image inspect and the container create.
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
	host, reached := midEngine(t, at, false)
	code, stderr, took := runFor([]string{"-f", engineProject(t, host), "--output", "plain", "r"}, 0)
	t.Logf("exit %d after %v: %s", code, took, stderr)
	select {
	case <-reached:
	default:
		t.Fatalf("dtask never reached the failing request; exit %d, stderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 3 || took > 10*time.Second || len(lines) != 1 ||
		!strings.Contains(lines[0], "docker engine unreachable at "+host+" (DOCKER_HOST)") {
		t.Errorf("exit %d after %v, stderr:\n%s\nwant exit 3 within 10s and one line naming %s (DOCKER_HOST)", code, took, stderr, host)
	}
}

// SIGINT to the dtask process while the engine hangs in the middle of the
// run returns promptly and exits 130.
func TestEngineHungMidRunSIGINT(t *testing.T) {
	for _, at := range midRunPoints() {
		t.Run(strings.TrimPrefix(at, "/"), func(t *testing.T) { hungMidRunSIGINT(t, at) })
	}
}

func hungMidRunSIGINT(t *testing.T, at string) {
	host, reached := midEngine(t, at, true)
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
	case <-time.After(10 * time.Second):
		t.Fatal("dtask did not reach the failing request within 10s")
	}
	// The fake engine holds the request: dtask is waiting for the answer.
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("dtask still running 10s after SIGINT")
	}
	took := time.Since(start)
	t.Logf("exit %d %v after SIGINT", cmd.ProcessState.ExitCode(), took)
	if code := cmd.ProcessState.ExitCode(); code != 130 || took > 3*time.Second {
		t.Errorf("exit %d %v after SIGINT, want 130 within 3s; stderr:\n%s", code, took, stderr.String())
	}
}
