package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hungEngine is a socket that accepts connections and never answers, as an
// engine does that is wedged; it is closed when the test ends.
func hungEngine(t *testing.T) string {
	t.Helper()
	l, host := listenEngine(t)
	hold := holdConns(t)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			hold(c)
		}
	}()
	return host
}

// listenEngine listens on a unix socket in a temporary folder and says its
// DOCKER_HOST; the listener is closed when the test ends.
func listenEngine(t *testing.T) (net.Listener, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, "unix://" + sock
}

// holdConns returns a function that keeps connections open, unanswered,
// until the test ends.
func holdConns(t *testing.T) func(net.Conn) {
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return func(c net.Conn) {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, c)
	}
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

// runFor runs dtask, cancelling its context (what Ctrl-C does) after
// cancelAfter when that is not zero, and says how long it took.
func runFor(args []string, cancelAfter time.Duration) (code int, stderr string, took time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if cancelAfter > 0 {
		time.AfterFunc(cancelAfter, cancel)
	}
	var out, errb bytes.Buffer
	start := time.Now()
	code = run(ctx, args, &out, &errb)
	return code, errb.String(), time.Since(start)
}

// A hung engine is reported as unreachable, naming DOCKER_HOST, in one
// line and in seconds.
func TestEngineHungExits3(t *testing.T) {
	host := hungEngine(t)
	code, stderr, took := runFor([]string{"-f", engineProject(t, host), "--output", "plain", "r"}, 0)
	if code != 3 || took > 10*time.Second {
		t.Fatalf("exit %d after %v, want 3 within 10s; stderr:\n%s", code, took, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	want := "dtask: target r: docker engine unreachable at " + host + " (DOCKER_HOST): no answer within 5s"
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("stderr:\n%s\nwant the one line:\n%s", stderr, want)
	}
}

// A stopped engine (nothing at the socket) is reported at once.
func TestEngineStoppedExits3(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "gone.sock")
	code, stderr, took := runFor([]string{"-f", engineProject(t, host), "--output", "plain", "r"}, 0)
	want := "dtask: target r: docker engine unreachable at " + host + " (DOCKER_HOST): no such file or directory\n"
	if code != 3 || took > 10*time.Second || stderr != want {
		t.Errorf("exit %d after %v, stderr %q; want 3 within 10s and %q", code, took, stderr, want)
	}
}

// Ctrl-C while the engine hangs returns promptly and exits 130.
func TestEngineHungInterrupt(t *testing.T) {
	host := hungEngine(t)
	code, stderr, took := runFor([]string{"-f", engineProject(t, host), "--output", "plain", "r"}, time.Second)
	if code != 130 || took > 3*time.Second {
		t.Errorf("exit %d after %v, want 130 within 3s; stderr:\n%s", code, took, stderr)
	}
}
