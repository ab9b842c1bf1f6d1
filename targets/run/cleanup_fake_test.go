package run

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// TestRemoveLeftoversRemovesDeadRunsOnly creates the objects of three other
// runs of the same project: one whose dtask died (SIGKILL), one still
// running (a live process) and one from another host; and one of another
// project. Only the dead run's container and network may go. The engine
// is the fake: what is removed is dtask's decision, not Docker's.
func TestRemoveLeftoversRemovesDeadRunsOnly(t *testing.T) {
	e, f := fakeEnv(t)
	ctx := context.Background()
	cli := f.Client()

	live := exec.Command("sleep", "60")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { live.Process.Kill(); live.Wait() })
	liveOwner := targets.OwnerLabel("", live.Process.Pid)

	deadOwner := deadOwner(t)

	remote := targets.OwnerLabel("some-other-machine", os.Getpid())

	other := &targets.Env{File: e.File, Project: "test" + randHex(6), RunID: "x"}

	mk := func(env *targets.Env, run string, o string) (ctr, net string) {
		labels := env.Labels("leftover")
		labels[docker.LabelRun] = run
		labels[docker.LabelOwner] = o
		id, err := CreateContainer(ctx, env, cli, ContainerSpec{Image: "busybox:latest", Cmd: []string{"sleep", "60"}, Labels: labels})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			t.Fatal(err)
		}
		nr, err := cli.NetworkCreate(ctx, ctrName(env, "leftover-net", run), client.NetworkCreateOptions{Driver: "bridge", Labels: labels})
		if err != nil {
			t.Fatal(err)
		}
		return id, nr.ID
	}
	deadC, deadN := mk(e, "dead-run", deadOwner)
	liveC, liveN := mk(e, "live-run", liveOwner)
	remoteC, remoteN := mk(e, "remote-run", remote)
	otherC, otherN := mk(other, "dead-run", deadOwner)
	// Objects of this very run are never leftovers.
	selfC, selfN := mk(e, e.RunID, deadOwner)

	if err := e.RemoveLeftovers(ctx); err != nil {
		t.Fatal(err)
	}
	exists := func(id string, network bool) bool {
		if network {
			_, err := cli.NetworkInspect(ctx, id, client.NetworkInspectOptions{})
			return err == nil
		}
		_, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		return err == nil
	}
	if exists(deadC, false) || exists(deadN, true) {
		t.Error("the dead run's container or network is still there")
	}
	for name, id := range map[string]string{"live": liveC, "remote": remoteC, "other project": otherC, "own run": selfC} {
		if !exists(id, false) {
			t.Errorf("the %s container was removed", name)
		}
	}
	for name, id := range map[string]string{"live": liveN, "remote": remoteN, "other project": otherN, "own run": selfN} {
		if !exists(id, true) {
			t.Errorf("the %s network was removed", name)
		}
	}
}

// TestCleanupRemovesWhatTheRunCreated: Cleanup removes the containers and
// networks this run tracked, and those it created but never heard back
// about (found by their labels), and nothing of another run.
func TestCleanupRemovesWhatTheRunCreated(t *testing.T) {
	e, f := fakeEnv(t)
	ctx := context.Background()
	cli, err := e.Docker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tracked, err := CreateContainer(ctx, e, cli, ContainerSpec{Image: "busybox:latest", Labels: e.RunLabels("svc")})
	if err != nil {
		t.Fatal(err)
	}
	// A create whose response was lost: labelled, never tracked.
	if _, err := cli.NetworkCreate(ctx, ctrName(e, "lost"), client.NetworkCreateOptions{Labels: e.RunLabels("lost")}); err != nil {
		t.Fatal(err)
	}
	other := e.RunLabels("other")
	other[docker.LabelRun] = "another-run"
	if _, err := cli.NetworkCreate(ctx, ctrName(e, "other"), client.NetworkCreateOptions{Labels: other}); err != nil {
		t.Fatal(err)
	}
	if err := e.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if c, n := fakeObjects(t, f, docker.LabelRun+"="+e.RunID); c != 0 || n != 0 {
		t.Errorf("after Cleanup: %d containers, %d networks of the run (tracked container %.12s)", c, n, tracked)
	}
	if _, n := fakeObjects(t, f, docker.LabelRun+"=another-run"); n != 1 {
		t.Error("Cleanup removed another run's network")
	}
}

// TestCleanupSweepsAndCleansInOneListing: at exit, Cleanup finds this run's
// objects and a dead run's late leftovers in one listing of the project's
// containers and one of its networks (it is on the way out of every run),
// removes both, and leaves a live run's objects alone.
func TestCleanupSweepsAndCleansInOneListing(t *testing.T) {
	e, f := fakeEnv(t)
	ctx := context.Background()
	cli, err := e.Docker(ctx) // the first sweep
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreateContainer(ctx, e, cli, ContainerSpec{Image: "busybox:latest", Labels: e.RunLabels("mine")}); err != nil {
		t.Fatal(err)
	}
	late := e.Labels("late")
	late[docker.LabelRun], late[docker.LabelOwner] = "killed-run", deadOwner(t)
	if _, err := cli.NetworkCreate(ctx, ctrName(e, "late"), client.NetworkCreateOptions{Labels: late}); err != nil {
		t.Fatal(err)
	}
	alive := e.Labels("alive")
	alive[docker.LabelRun], alive[docker.LabelOwner] = "live-run", targets.OwnerLabel("", os.Getpid())
	if _, err := cli.NetworkCreate(ctx, ctrName(e, "alive"), client.NetworkCreateOptions{Labels: alive}); err != nil {
		t.Fatal(err)
	}
	before := len(f.Calls())
	if err := e.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	lists := map[string]int{}
	for _, c := range f.Calls()[before:] {
		lists[c]++
	}
	if lists["ContainerList"] != 1 || lists["NetworkList"] != 1 {
		t.Errorf("Cleanup listed containers %d times and networks %d times, want once each", lists["ContainerList"], lists["NetworkList"])
	}
	if c, n := fakeObjects(t, f, projectLabel(e)); c != 0 || n != 1 {
		t.Errorf("after Cleanup: %d containers, %d networks; want only the live run's network", c, n)
	}
}
