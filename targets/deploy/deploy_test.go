package deploy

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/targettest"
)

// deployRun runs the deploy target once, straight through the action.
func deployRun(ctx context.Context, e *targets.Env, tg *taskfile.Target) (engine.Outputs, string, error) {
	x, _, errb, _ := targettest.Exec(tg)
	out, err := New(e, tg).Run(ctx, x)
	return out, errb.String(), err
}

// TestDeployServesSkipsAndReplaces deploys through the engine: the first
// run serves from the published port and leaves a container that outlives
// the run; the second is cached (Check passes); a stopped container or a
// new image deploys again, and the replaced container is gone.
func TestDeployServesSkipsAndReplaces(t *testing.T) {
	e, cli := dpEnv(t)
	v1, v2 := dpImage(t, "v1", false), dpImage(t, "v2", false)
	name := dpName(t, func() *docker.Client { return cli })
	port := dpFreePort(t)
	e.Revision = "0123456789abcdef"
	tg := dpTarget(e, name, v1, "", port, 20*time.Second)

	store, err := cache.OpenStore(filepath.Join(e.File.Dir, ".dtask"))
	if err != nil {
		t.Fatal(err)
	}
	run := func() engine.Status {
		t.Helper()
		rep := targettest.NewReporter()
		r := &engine.Runner{File: e.File, Store: store, Index: cache.OpenIndex(store.IndexPath()),
			Actions: e.Action, Reporter: rep, Opts: engine.Options{Jobs: 1}}
		if _, err := r.Run(context.Background(), []string{tg.Name}); err != nil {
			t.Fatalf("%v\n%s", err, rep.Out.String())
		}
		return rep.Status(tg.Name)
	}

	start := time.Now()
	if st := run(); st != engine.Ran {
		t.Fatalf("first deploy: %v, want ran", st)
	}
	t.Logf("first deploy took %s", time.Since(start).Round(time.Millisecond))
	if body, err := dpGet(port, "/version"); body != "v1" {
		t.Fatalf("GET /version from the host: %q %v, want v1", body, err)
	}
	ins := dpInspect(t, cli, name)
	c := ins.Container
	if _, ok := c.Config.Labels[docker.LabelOwner]; ok {
		t.Errorf("deployed container carries %s; Cleanup would remove it", docker.LabelOwner)
	}
	if c.Config.Labels[LabelDeployImage] != c.Image || c.Config.Labels[LabelDeployDef] == "" {
		t.Errorf("labels %v: want the image ID %s and a definition hash", c.Config.Labels, c.Image)
	}
	if c.Config.Labels[LabelDeployGit] != "0123456789abcdef" {
		t.Errorf("git label = %q", c.Config.Labels[LabelDeployGit])
	}
	if c.HostConfig.RestartPolicy.Name != "unless-stopped" {
		t.Errorf("restart policy %q, want unless-stopped", c.HostConfig.RestartPolicy.Name)
	}
	if !strings.Contains(strings.Join(c.Config.Env, " "), "APP_MODE=test") {
		t.Errorf("env %v lacks APP_MODE=test", c.Config.Env)
	}

	// The run's cleanup must leave the deployed container alone.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveLeftovers(ctx); err != nil {
		t.Fatal(err)
	}
	if !containerRunning(ctx, cli, name) {
		t.Fatal("the deployed container did not outlive Cleanup/RemoveLeftovers")
	}

	start = time.Now()
	if st := run(); st != engine.Cached {
		t.Fatalf("same deploy again: %v, want cached", st)
	}
	t.Logf("skipped deploy took %s", time.Since(start).Round(time.Millisecond))
	if dpInspect(t, cli, name).Container.ID != c.ID {
		t.Error("a cached deploy replaced the container")
	}

	// Stopped by hand: Check fails and it is deployed again.
	if _, err := cli.ContainerStop(ctx, name, client.ContainerStopOptions{Timeout: new(1)}); err != nil {
		t.Fatal(err)
	}
	if st := run(); st != engine.Ran {
		t.Fatalf("deploy after the container was stopped: %v, want ran", st)
	}
	if body, _ := dpGet(port, "/version"); body != "v1" {
		t.Fatalf("after redeploy: %q", body)
	}

	// A new image replaces it; the old container is removed, and so is one
	// a deploy killed mid-way left set aside.
	stale, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name + oldSuffix + "0123456789ab", Config: &container.Config{Image: v1},
	})
	if err != nil {
		t.Fatal(err)
	}
	before := dpInspect(t, cli, name).Container.ID
	tg.Deploy.Image = v2
	if st := run(); st != engine.Ran {
		t.Fatalf("deploy of v2: %v, want ran", st)
	}
	if body, err := dpGet(port, "/version"); body != "v2" {
		t.Fatalf("GET /version after deploying v2: %q %v", body, err)
	}
	if _, err := cli.ContainerInspect(ctx, before, client.ContainerInspectOptions{}); err == nil {
		t.Error("the replaced container still exists")
	}
	if n := dpCount(t, cli, name); n != 1 {
		t.Errorf("%d containers named like %s, want 1", n, name)
	}
	if _, err := cli.ContainerInspect(ctx, stale.ID, client.ContainerInspectOptions{}); err == nil {
		t.Error("the set-aside container of an earlier deploy is still there")
	}
}

// dpServingV1 deploys image v1 as a fresh container name on port, for a
// test that then deploys the image broken (it never answers) over it.
func dpServingV1(t *testing.T) (e *targets.Env, cli *docker.Client, name string, port int, broken string) {
	t.Helper()
	e, cli = dpEnv(t)
	good := dpImage(t, "v1", false)
	broken = dpImage(t, "bad", true)
	name = dpName(t, func() *docker.Client { return cli })
	port = dpFreePort(t)
	if _, _, err := deployRun(context.Background(), e, dpTarget(e, name, good, "", port, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	return e, cli, name, port, broken
}

// TestDeployBrokenImageRollsBack: the new container never answers, so it
// is removed, the old one is put back under its name and keeps serving,
// and the error comes with the new container's last output.
func TestDeployBrokenImageRollsBack(t *testing.T) {
	e, cli, name, port, broken := dpServingV1(t)
	ctx := context.Background()
	old := dpInspect(t, cli, name).Container.ID

	start := time.Now()
	_, stderr, err := deployRun(ctx, e, dpTarget(e, name, broken, "", port, 2*time.Second))
	t.Logf("failed deploy and rollback took %s", time.Since(start).Round(time.Millisecond))
	if err == nil {
		t.Fatal("deploying an image that never answers succeeded")
	}
	for _, want := range []string{"not ready after 2s", "put back"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for _, want := range []string{"broken server starting", "cannot open the database"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks the new container's output %q", stderr, want)
		}
	}
	ins := dpInspect(t, cli, name).Container
	if ins.ID != old || !ins.State.Running {
		t.Fatalf("container %s is %.12s (running %v), want the old %.12s running", name, ins.ID, ins.State.Running, old)
	}
	if body, err := dpGet(port, "/version"); body != "v1" {
		t.Fatalf("old container does not serve after the rollback: %q %v", body, err)
	}
	if n := dpCount(t, cli, name); n != 1 {
		t.Errorf("%d containers named like %s after the rollback, want 1", n, name)
	}
}

// TestDeployCancelRollsBack: Ctrl-C while waiting for the new container
// puts the old one back too.
func TestDeployCancelRollsBack(t *testing.T) {
	e, cli, name, port, broken := dpServingV1(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _, err := deployRun(ctx, e, dpTarget(e, name, broken, "", port, 50*time.Second))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled deploy: %v, want the context's error", err)
	}
	if body, err := dpGet(port, "/version"); body != "v1" {
		t.Fatalf("old container does not serve after a cancelled deploy: %q %v", body, err)
	}
	if n := dpCount(t, cli, name); n != 1 {
		t.Errorf("%d containers named like %s, want 1", n, name)
	}
}

// TestDeployCrashingContainerFailsFast: a container that exits is not
// waited for until the timeout.
func TestDeployCrashingContainerFailsFast(t *testing.T) {
	e, cli := dpEnv(t)
	good := dpImage(t, "v1", false)
	name := dpName(t, func() *docker.Client { return cli })
	tg := dpTarget(e, name, good, "", dpFreePort(t), time.Hour)
	tg.Deploy.Cmd = []string{"sh", "-c", "echo no config found; exit 3"}
	// A wait for the ready timeout would end at this deadline instead, with
	// the context's error: the exit's error says the exit ended the wait.
	// (No wall-time bound: a window flakes under load.)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, stderr, err := deployRun(ctx, e, tg)
	if err == nil || !strings.Contains(err.Error(), "exited with code 3") {
		t.Fatalf("err = %v, want exited with code 3", err)
	}
	if !strings.Contains(stderr, "no config found") {
		t.Errorf("stderr %q lacks the container's output", stderr)
	}
	if n := dpCount(t, cli, name); n != 0 {
		t.Errorf("%d containers left named like %s, want 0", n, name)
	}
}

// TestDeployRemoteReadyRunsInsideTheContainer checks the probes used for a
// remote engine against a real container: a loopback URL's published port
// becomes the container port, and the check runs inside the container.
func TestDeployRemoteReadyRunsInsideTheContainer(t *testing.T) {
	e, cli := dpEnv(t)
	good := dpImage(t, "v1", false)
	name := dpName(t, func() *docker.Client { return cli })
	port := dpFreePort(t)
	out, _, err := deployRun(context.Background(), e, dpTarget(e, name, good, "", port, 20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	id := out["container"]
	remote := func(r *taskfile.Ready) (bool, string) {
		t.Helper()
		a := &deployAction{e: e, t: &taskfile.Target{Name: "r", Deploy: &taskfile.Deploy{
			Host: "ssh://deploy@203.0.113.7", Name: name, Image: good,
			Ports: []string{"4555:3000"}, Ready: r,
		}}}
		check, what, err := a.readyCheck(cli, id)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ok, msg, err := check(ctx)
		if err != nil {
			msg += err.Error()
		}
		return ok, what + ": " + msg
	}
	if ok, msg := remote(&taskfile.Ready{HTTP: "http://127.0.0.1:4555/health"}); !ok {
		t.Errorf("http Probe of a serving container failed: %s", msg)
	}
	if ok, msg := remote(&taskfile.Ready{HTTP: "http://127.0.0.1:4555/nope"}); ok {
		t.Errorf("http Probe of a missing path passed: %s", msg)
	}
	if ok, msg := remote(&taskfile.Ready{TCP: 4555}); !ok {
		t.Errorf("tcp Probe of a serving container failed: %s", msg)
	}
	if ok, msg := remote(&taskfile.Ready{TCP: 4556}); ok {
		t.Errorf("tcp Probe of a closed port passed: %s", msg)
	}
	if ok, msg := remote(&taskfile.Ready{Cmd: "test -f /www/health"}); !ok {
		t.Errorf("cmd Probe failed: %s", msg)
	}
}

// TestDeployToSecondEngine deploys to a second dockerd that has no images:
// the image is copied with save/load (nothing can be pulled), the second
// deploy finds it there by ID, and Check reads that engine.
func TestDeployToSecondEngine(t *testing.T) {
	e, cli := dpEnv(t)
	good := dpImage(t, "v1", false)
	host := dpSecondEngine(t, cli)
	d2, err := docker.ConnectHost(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d2.Close() })
	testDeployRemote(t, e, cli, d2, host, good)
}

// TestDeployOverSSH deploys through ssh://root@127.0.0.1:PORT (a local sshd
// whose sessions talk to a second, empty dockerd), as the docker CLI does;
// the engine pulls the image from this machine through a reverse tunnel.
func TestDeployOverSSH(t *testing.T) {
	e, cli := dpEnv(t)
	good := dpImage(t, "v1", false)
	d2host := dpSecondEngine(t, cli)
	host := dpSSHServer(t, d2host)
	start := time.Now()
	d2, err := docker.ConnectHost(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("connecting over ssh took %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { d2.Close() })
	if d2.Host != host {
		t.Errorf("client host %q, want %q", d2.Host, host)
	}
	testDeployRemote(t, e, cli, d2, host, good)
}

func testDeployRemote(t *testing.T, e *targets.Env, local, d2 *docker.Client, host, image string) {
	t.Helper()
	ctx := context.Background()
	localID, err := targets.ImageID(ctx, local, image)
	if err != nil || localID == "" {
		t.Fatalf("local image %s: %q %v", image, localID, err)
	}
	if id, _ := targets.ImageID(ctx, d2, localID); id != "" {
		t.Fatalf("the second engine already has %s", localID)
	}
	name := dpName(t, func() *docker.Client { return d2 })
	port := dpFreePort(t)
	tg := dpTarget(e, name, image, host, port, 20*time.Second)

	x, stdout, _, prog := targettest.Exec(tg)
	start := time.Now()
	out, err := New(e, tg).Run(ctx, x)
	if err != nil {
		t.Fatalf("deploy to %s: %v\nprogress:\n%s", host, err, prog)
	}
	t.Logf("deploy with image copy to %s took %s", host, time.Since(start).Round(time.Millisecond))
	// The transfer is one summary line in the target's output: over ssh
	// the engine pulls from this machine through a reverse tunnel, else
	// the image is copied.
	done := regexp.MustCompile(`(?m)^copied 1 image, [0-9.]+ [kM]B to ` + regexp.QuoteMeta(host) + ` in [0-9.]+m?s \(` + regexp.QuoteMeta(image) + `\)$`)
	if strings.HasPrefix(host, "ssh://") {
		done = regexp.MustCompile(`(?m)^pulled [0-9]+ layers?, [0-9.]+ [kM]B from this machine over ssh in [0-9.]+m?s \(image [0-9a-f]{12}\)$`)
	} else if !strings.Contains(prog.String(), "copying") {
		t.Errorf("progress does not mention the copy:\n%s", prog)
	}
	if !done.MatchString(stdout.String()) {
		t.Errorf("output %q has no line matching %s", stdout, done)
	}
	there, _ := targets.ImageID(ctx, d2, image)
	if out["image_id"] != there {
		t.Errorf("outputs %v: image_id want %s, the second engine's ID of %s", out, there, image)
	}
	// A copy keeps the ID, and so does a pull to a classic engine (its ID
	// is the config's digest); a containerd-store engine names a pulled
	// image by the manifest it pulled.
	if there != localID && (!strings.HasPrefix(host, "ssh://") || !dpContainerdStore(t, d2)) {
		t.Errorf("the second engine has %s as %q, want %s", image, there, localID)
	}
	dpRunsImage(t, local, d2, name, image)
	if body, err := dpGet(port, "/version"); body != "v1" {
		t.Fatalf("GET from the second engine's published port: %q %v", body, err)
	}
	if _, err := local.ContainerInspect(ctx, name, client.ContainerInspectOptions{}); err == nil {
		t.Error("the container was made on the local engine")
	}

	rec := &engine.Record{Outputs: out}
	a := New(e, tg)
	if ok, why, err := a.Check(ctx, rec); !ok || err != nil {
		t.Errorf("Check after deploy: %v %q %v", ok, why, err)
	}

	// Deploying again finds the image there: nothing is copied or pulled.
	x, _, _, prog = targettest.Exec(tg)
	start = time.Now()
	if _, err := New(e, tg).Run(ctx, x); err != nil {
		t.Fatal(err)
	}
	t.Logf("redeploy without copy took %s", time.Since(start).Round(time.Millisecond))
	if strings.Contains(prog.String(), "copying") || strings.Contains(prog.String(), "pulling") {
		t.Errorf("the image was sent again:\n%s", prog)
	}
	if _, err := d2.ContainerStop(ctx, name, client.ContainerStopOptions{Timeout: new(1)}); err != nil {
		t.Fatal(err)
	}
	if ok, why, _ := a.Check(ctx, rec); ok || !strings.Contains(why, "not running") {
		t.Errorf("Check of a stopped container: %v %q", ok, why)
	}
}

func TestHostIsLocal(t *testing.T) {
	for host, want := range map[string]bool{
		"": true, "unix:///var/run/docker.sock": true, "tcp://127.0.0.1:2375": true,
		"ssh://root@127.0.0.1:2222": true, "ssh://localhost": true, "tcp://[::1]:2375": true,
		"ssh://deploy@staging.internal": false, "tcp://10.0.0.5:2376": false,
	} {
		if got := hostIsLocal(host); got != want {
			t.Errorf("hostIsLocal(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestReadyPortMapping(t *testing.T) {
	ports, err := published([]string{"3001:3000", "10.1.2.3:8081:80", "9000", "53:53/udp"})
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]string{3001: "127.0.0.1:3001", 3000: "127.0.0.1:3001", 8081: "10.1.2.3:8081", 5555: "127.0.0.1:5555"} {
		if got := hostAddr(ports, n); got != want {
			t.Errorf("hostAddr(%d) = %s, want %s", n, got, want)
		}
	}
	for raw, want := range map[string]string{
		"http://127.0.0.1:3001/health":   "http://127.0.0.1:3000/health",
		"http://localhost:8081/x?y=1":    "http://127.0.0.1:80/x?y=1",
		"http://app.internal:3001/ready": "http://app.internal:3001/ready",
		"http://127.0.0.1:7777/":         "http://127.0.0.1:7777/",
	} {
		if got := ctrURL(ports, raw); got != want {
			t.Errorf("ctrURL(%s) = %s, want %s", raw, got, want)
		}
	}
}

func TestDeployRemoteRelativeVolumeIsAnError(t *testing.T) {
	e := &targets.Env{File: &taskfile.File{Dir: t.TempDir()}}
	a := &deployAction{e: e, t: &taskfile.Target{Name: "d", Deploy: &taskfile.Deploy{
		Host: "ssh://deploy@staging.internal", Name: "shop", Image: "shop:1",
		Volumes: []string{"/srv/shop:/data", "./conf:/conf"},
	}}}
	if _, err := a.spec(); err == nil || !strings.Contains(err.Error(), "./conf") {
		t.Errorf("spec: %v, want an error naming ./conf", err)
	}
	a.t.Deploy.Volumes = []string{"/srv/shop:/data:ro", "shopdata:/var/lib/shop"}
	s, err := a.spec()
	if err != nil || strings.Join(s.Binds, ",") != "/srv/shop:/data:ro,shopdata:/var/lib/shop" {
		t.Errorf("spec binds %v %v", s.Binds, err)
	}
}
