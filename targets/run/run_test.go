package run

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/testwait"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

func TestRunStreamsStdoutAndStderrSeparately(t *testing.T) {
	t.Parallel()
	e := busyboxEnv(t)
	out, errOut, err := runTarget(t, context.Background(), e, &taskfile.Target{
		Name: "hello",
		Run:  &taskfile.Run{Image: "busybox:latest", Cmd: []string{"sh", "-c", "echo to-stdout; echo to-stderr >&2; echo more-stdout"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out != "to-stdout\nmore-stdout\n" {
		t.Errorf("stdout = %q", out)
	}
	if errOut != "to-stderr\n" {
		t.Errorf("stderr = %q", errOut)
	}
	wantObjects(t, e, 0, 0, "left after the run")
}

func TestRunExitCodeIsTheResult(t *testing.T) {
	t.Parallel()
	e := busyboxEnv(t)
	out, _, err := runTarget(t, context.Background(), e, &taskfile.Target{
		Name: "fails",
		Run:  &taskfile.Run{Image: "busybox:latest", Cmd: []string{"sh", "-c", "echo before-exit; exit 3"}},
	})
	if err == nil || err.Error() != "container exited with code 3" {
		t.Fatalf("err = %v, want container exited with code 3", err)
	}
	if out != "before-exit\n" {
		t.Errorf("output of the failing container = %q", out)
	}
	wantObjects(t, e, 0, 0, "left after the run")
}

func TestRunEnvWorkdirUserVolumes(t *testing.T) {
	t.Parallel()
	e := busyboxEnv(t)
	e.File.Env = map[string]string{"A": "file", "B": "file", "C": "file"}
	dir := filepath.Join(e.File.Dir, "sub")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "in.txt"), []byte("from-host"), 0o666); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runTarget(t, context.Background(), e, &taskfile.Target{
		Name: "env",
		Dir:  "sub",
		Env:  map[string]string{"B": "target", "C": "target"},
		Run: &taskfile.Run{
			Image:   "busybox:latest",
			Cmd:     []string{"sh", "-c", `echo "$A $B $C"; pwd; id -u; cat /data/in.txt; echo; echo written > /data/out.txt`},
			Env:     map[string]string{"C": "run"},
			Workdir: "/tmp/wd",
			User:    "0",
			Volumes: []string{"./data:/data"},
		},
	})
	if err != nil {
		t.Fatalf("%v\nstderr: %s", err, errOut)
	}
	want := "file target run\n/tmp/wd\n0\nfrom-host\n"
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "data", "out.txt"))
	if err != nil || string(b) != "written\n" {
		t.Errorf("file written through the relative volume: %q, %v", b, err)
	}
}

func TestRunPublishesPorts(t *testing.T) {
	t.Parallel()
	e := busyboxEnv(t)
	ctx := context.Background()
	cli, _ := e.Docker(ctx)
	id, err := CreateContainer(ctx, e, cli, ContainerSpec{
		Name: ctrName(e, "ports"), Image: "busybox:latest", Cmd: []string{"true"},
		Ports: []string{"127.0.0.1::80", "8080/udp"}, Labels: e.RunLabels("ports"),
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pb := res.Container.HostConfig.PortBindings
	var got []string
	for p, bs := range pb {
		for _, b := range bs {
			got = append(got, p.String()+"@"+b.HostIP.String())
		}
	}
	if len(pb) != 2 || !strings.Contains(strings.Join(got, " "), "80/tcp@127.0.0.1") {
		t.Errorf("port bindings = %v", got)
	}
}

func TestRunCancelStopsAndRemovesTheContainer(t *testing.T) {
	t.Parallel()
	e := busyboxEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tg := &taskfile.Target{Name: "sleeper", Run: &taskfile.Run{Image: "busybox:latest", Cmd: []string{"sleep", "60"}}}
	done := make(chan error, 1)
	go func() {
		_, _, err := runTarget(t, ctx, e, tg)
		done <- err
	}()
	// Cancel only once sleep itself runs: a SIGTERM that reaches the
	// container's init before it has started its child is lost, and the
	// stop then waits out the whole grace period (seen at load 20).
	waitFor(t, 20*time.Second, func() bool { return processRunning(t, e, "sleep 60") })
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err == nil || ctx.Err() == nil {
			t.Errorf("Run after cancel returned %v", err)
		}
	case <-time.After(2 * time.Minute): // a hang, not a slow stop
		t.Fatal("Run did not return after cancel")
	}
	t.Logf("cancelled run returned and its container was gone %v after cancel", time.Since(start))
	if c, _ := projectObjects(t, e); c != 0 {
		t.Errorf("%d containers left after cancel", c)
	}
	// How it died, not how long it took (a window flakes under load):
	// 143 is the SIGTERM, 137 the SIGKILL after the grace period.
	if codes := exitCodes(t, e, start); len(codes) != 1 || codes[0] != "143" {
		t.Errorf("container exit codes %v, want [143]: stopped by SIGTERM, not killed after %ds", codes, targets.StopGrace)
	}
}

// exitCodes lists the exit codes of e's project's containers that died
// since the time given, from the engine's events.
func exitCodes(t *testing.T, e *targets.Env, since time.Time) []string {
	t.Helper()
	d, _ := e.Docker(context.Background())
	cli, ok := d.API.(*client.Client)
	if !ok {
		t.Fatalf("engine API is %T, not the moby client", d.API)
	}
	f := client.Filters{}.Add("label", docker.LabelProject+"="+e.Project).Add("type", "container").Add("event", "die")
	until := strconv.FormatInt(time.Now().Unix()+1, 10)
	res := cli.Events(context.Background(), client.EventsListOptions{Since: strconv.FormatInt(since.Unix()-1, 10), Until: until, Filters: f})
	var codes []string
	for {
		select {
		case m := <-res.Messages:
			codes = append(codes, m.Actor.Attributes["exitCode"])
		case err := <-res.Err:
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("reading the engine's events: %v", err)
			}
			return codes
		}
	}
}

func runningContainers(t *testing.T, e *targets.Env) int {
	return len(running(t, e))
}

func running(t *testing.T, e *targets.Env) []container.Summary {
	cli, _ := e.Docker(context.Background())
	f := client.Filters{}.Add("label", docker.LabelProject+"="+e.Project).Add("status", "running")
	cl, err := cli.ContainerList(context.Background(), client.ContainerListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	return cl.Items
}

// processRunning reports whether a running container of e's project has
// a process whose command line contains cmd.
func processRunning(t *testing.T, e *targets.Env, cmd string) bool {
	d, _ := e.Docker(context.Background())
	cli, ok := d.API.(*client.Client)
	if !ok {
		t.Fatalf("engine API is %T, not the moby client", d.API)
	}
	for _, c := range running(t, e) {
		top, err := cli.ContainerTop(context.Background(), c.ID, client.ContainerTopOptions{})
		if err != nil {
			continue // not running any more, or not yet
		}
		for _, p := range top.Processes {
			if strings.Contains(strings.Join(p, " "), cmd) {
				return true
			}
		}
	}
	return false
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	testwait.For(t, d, "the condition", cond)
}

func TestRunSpecHelpers(t *testing.T) {
	binds, hosts, err := ResolveVolumes("/proj", []string{"./src:/src:ro", "cache:/cache", "/abs:/abs", "../up:/up"})
	if err != nil {
		t.Fatal(err)
	}
	wantBinds := []string{"/proj/src:/src:ro", "cache:/cache", "/abs:/abs", "/up:/up"}
	if strings.Join(binds, " ") != strings.Join(wantBinds, " ") {
		t.Errorf("binds = %v", binds)
	}
	if strings.Join(hosts, " ") != "/proj/src /abs /up" {
		t.Errorf("host paths = %v", hosts)
	}
	if _, _, err := ResolveVolumes("/", []string{"nocolon"}); err == nil {
		t.Error("a volume without a target was accepted")
	}
	exp, pb, err := ParsePorts([]string{"3001:3000", "127.0.0.1:53:53/udp", "9000", "[::1]:8443:443"})
	if err != nil {
		t.Fatal(err)
	}
	if len(exp) != 4 || len(pb) != 4 {
		t.Fatalf("exposed %v bindings %v", exp, pb)
	}
	for p, bs := range pb {
		switch p.String() {
		case "3000/tcp":
			if bs[0].HostPort != "3001" || bs[0].HostIP.IsValid() {
				t.Errorf("3000: %+v", bs)
			}
		case "53/udp":
			if bs[0].HostIP.String() != "127.0.0.1" || bs[0].HostPort != "53" {
				t.Errorf("53: %+v", bs)
			}
		case "443/tcp":
			if bs[0].HostIP.String() != "::1" {
				t.Errorf("443: %+v", bs)
			}
		}
	}
	if _, _, err := ParsePorts([]string{"a:b:c:d"}); err == nil {
		t.Error("bad port accepted")
	}
	env := MergeEnv(map[string]string{"B": "1", "A": "1"}, map[string]string{"B": "2"})
	if strings.Join(env, " ") != "A=1 B=2" {
		t.Errorf("env = %v", env)
	}
}
