package run

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/fakedocker"
	"github.com/dtask-dev/dtask/internal/testwait"
	"github.com/dtask-dev/dtask/targets"
)

// TestFakeRunExitCodeIsTheResult: a container's exit code is the target's
// result, its output is streamed, and the container is gone afterwards.
func TestFakeRunExitCodeIsTheResult(t *testing.T) {
	e, f := fakeEnv(t)
	f.Run = func(image string, cmd []string) fakedocker.Outcome {
		return fakedocker.Outcome{Stdout: "before-exit\n", Stderr: "oops\n", Code: 3}
	}
	out, errOut, err := runTarget(t, context.Background(), e, &taskfile.Target{
		Name: "fails",
		Run:  &taskfile.Run{Image: "busybox:latest", Cmd: []string{"false"}},
	})
	if err == nil || err.Error() != "container exited with code 3" {
		t.Fatalf("err = %v, want container exited with code 3", err)
	}
	if out != "before-exit\n" || errOut != "oops\n" {
		t.Errorf("stdout = %q, stderr = %q", out, errOut)
	}
	if c, _ := fakeObjects(t, f, projectLabel(e)); c != 0 {
		t.Errorf("%d containers left after the run", c)
	}
}

// TestFakeRunNamesAndLabelsItsContainer: the container is named after the
// project and target and carries the labels that let clean-up find it.
func TestFakeRunNamesAndLabelsItsContainer(t *testing.T) {
	e, f := fakeEnv(t)
	var seen []string
	f.Run = func(image string, cmd []string) fakedocker.Outcome {
		seen = append(seen, image+" "+strings.Join(cmd, " "))
		return fakedocker.Outcome{}
	}
	if _, _, err := runTarget(t, context.Background(), e, &taskfile.Target{
		Name: "my target",
		Run:  &taskfile.Run{Image: "busybox:latest", Cmd: []string{"echo", "hi"}},
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []string{"busybox:latest echo hi"}) {
		t.Errorf("containers started: %q", seen)
	}
	name := ctrName(e, "my target")
	if want := "dtask-" + e.Project[:8] + "-my_target-"; !strings.HasPrefix(name, want) {
		t.Errorf("container name %q, want prefix %q", name, want)
	}
}

// TestFakeRunStartFailureLeavesNothing: an engine that refuses to start
// the container gets an error naming the image, and the created container
// is removed.
func TestFakeRunStartFailureLeavesNothing(t *testing.T) {
	e, f := fakeEnv(t)
	f.Fail("ContainerStart", errors.New("port is already allocated"))
	_, _, err := runTarget(t, context.Background(), e, &taskfile.Target{
		Name: "nostart",
		Run:  &taskfile.Run{Image: "busybox:latest"},
	})
	if err == nil || !strings.Contains(err.Error(), "busybox:latest") || !strings.Contains(err.Error(), "port is already allocated") {
		t.Fatalf("err = %v, want the image and the engine's reason", err)
	}
	if c, _ := fakeObjects(t, f, projectLabel(e)); c != 0 {
		t.Errorf("%d containers left after a failed start", c)
	}
}

// TestFakeRunMissingImageThatCannotBePulled names the image and the pull.
func TestFakeRunMissingImageThatCannotBePulled(t *testing.T) {
	e, f := fakeEnv(t)
	_, _, err := runTarget(t, context.Background(), e, &taskfile.Target{
		Name: "nopull",
		Run:  &taskfile.Run{Image: "127.0.0.1:5000/dtask-test/does-not-exist:1"},
	})
	if err == nil || !strings.Contains(err.Error(), "is not in the engine and pulling it failed") {
		t.Fatalf("err = %v", err)
	}
	if !slices.Contains(f.Calls(), "ImagePull") {
		t.Errorf("no pull was tried: %v", f.Calls())
	}
}

// TestFakeRunCancelStopsAndRemovesTheContainer: Ctrl-C while a container
// runs stops and removes it and returns the context's error.
func TestFakeRunCancelStopsAndRemovesTheContainer(t *testing.T) {
	e, f := fakeEnv(t)
	f.Run = func(string, []string) fakedocker.Outcome { return fakedocker.Outcome{Block: true} }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := runTarget(t, ctx, e, &taskfile.Target{Name: "long", Run: &taskfile.Run{Image: "busybox:latest"}})
		done <- err
	}()
	testwait.For(t, time.Minute, "the container to start", func() bool { return slices.Contains(f.Calls(), "ContainerStart") })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("hung: the run did not end after cancel")
	}
	if c, _ := fakeObjects(t, f, projectLabel(e)); c != 0 {
		t.Errorf("%d containers left after cancel", c)
	}
}

// A service whose image is a tag a dep's build recorded, which the engine
// has by ID but no longer by that tag (a build up to date from the image
// cache), is not one dtask fetched for the service: the build carries that
// image. Counted as fetched, it was saved again as a service image (on
// the classic store one more docker save of the whole image).
func TestServiceImageOfADepBuildIsNotFetched(t *testing.T) {
	e, f := fakeEnv(t)
	built := f.AddImage("dtask-test/other:1") // the engine has the image, not the tag
	cli := f.Client()
	deps := map[string]engine.Outputs{"image": targets.BuildOutput{ImageID: built, Tags: []string{"dtask-test/built:1"}}.Outputs()}
	svc := &taskfile.Service{Name: "app", Image: "dtask-test/built:1"}
	ref, id, fetched, err := serviceImage(context.Background(), e, cli, svc, deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ref != "dtask-test/built:1" || id != built {
		t.Errorf("serviceImage = %s %s, want the build's image %s", ref, id, built)
	}
	if fetched {
		t.Error("a dep build's image counted as fetched for the service")
	}
}
