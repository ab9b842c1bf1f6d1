package run

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

func TestCleanupWithoutDockerUseIsANoOp(t *testing.T) {
	e := &targets.Env{Host: "unix:///nonexistent/docker.sock"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Cleanup(ctx); err != nil {
		t.Errorf("Cleanup of a run that never used Docker: %v", err)
	}
}

// TestLeftoversOfASIGKILLedRun runs a real dtask-like process (this test
// binary) that starts a service and a run container, kills it with
// SIGKILL, and checks that the next run's RemoveLeftovers removes them.
func TestLeftoversOfASIGKILLedRun(t *testing.T) {
	if os.Getenv("DTASK_TEST_HELPER_PROJECT") != "" {
		helperRunForever()
		return
	}
	e := busyboxEnv(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLeftoversOfASIGKILLedRun$")
	cmd.Env = append(os.Environ(), "DTASK_TEST_HELPER_PROJECT="+e.Project)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, 30*time.Second, func() bool { return runningContainers(t, e) == 2 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if c, n := projectObjects(t, e); c != 2 || n != 1 {
		t.Fatalf("after SIGKILL: %d containers, %d networks; want 2 and 1 left over", c, n)
	}
	start := time.Now()
	if err := e.RemoveLeftovers(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("RemoveLeftovers took %v", time.Since(start))
	if c, n := projectObjects(t, e); c != 0 || n != 0 {
		t.Errorf("after RemoveLeftovers: %d containers, %d networks", c, n)
	}
}

// helperRunForever is the process killed above: a run target with a
// service, stuck in `sleep`.
func helperRunForever() {
	e := &targets.Env{
		File:    &taskfile.File{Dir: os.TempDir(), Services: map[string]*taskfile.Service{}, Targets: map[string]*taskfile.Target{}},
		Project: os.Getenv("DTASK_TEST_HELPER_PROJECT"),
		RunID:   "helper" + randHex(4),
	}
	e.File.Services["svc"] = &taskfile.Service{Name: "svc", Image: "busybox:latest", Cmd: []string{"sleep", "600"}}
	tg := &taskfile.Target{Name: "stuck", Services: []string{"svc"}, Run: &taskfile.Run{Image: "busybox:latest", Cmd: []string{"sleep", "600"}}}
	x, _, _, _ := testExec(tg)
	New(e, tg).Run(context.Background(), x)
	os.Exit(0)
}

// A network whose create was in flight when an earlier run was killed can
// appear after this run's first sweep; the sweep at exit removes it.
func TestCleanupSweepsAgainAtExit(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	ctx := context.Background()
	cli, err := e.Docker(ctx) // the first sweep
	if err != nil {
		t.Fatal(err)
	}
	dead := deadOwner(t)
	labels := e.Labels("late")
	labels[docker.LabelRun] = "killed-run"
	labels[docker.LabelOwner] = dead
	nr, err := cli.NetworkCreate(ctx, ctrName(e, "late-net", "killed-run"), client.NetworkCreateOptions{Driver: "bridge", Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = cli.NetworkRemove(context.Background(), nr.ID, client.NetworkRemoveOptions{}) })
	if err := e.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.NetworkInspect(ctx, nr.ID, client.NetworkInspectOptions{}); err == nil {
		t.Error("the late network of the killed run is still there after Cleanup")
	}
}

// deadOwner is the owner label of a process that has exited.
func deadOwner(t *testing.T) string {
	t.Helper()
	killed := exec.Command("sleep", "60")
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	o := targets.OwnerLabel("", killed.Process.Pid)
	killed.Process.Kill()
	killed.Wait()
	return o
}
