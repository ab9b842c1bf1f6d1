package deploy

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/run"
)

// Labels a deployed container carries, read back by Check. It carries the
// common dtask labels but never docker.LabelOwner: it must outlive the run.
const (
	LabelDeployImage = "dev.dtask.deploy.image" // image ID it runs
	LabelDeployDef   = "dev.dtask.deploy.def"   // hash of the deploy definition
	LabelDeployGit   = "dev.dtask.deploy.git"   // GIT_SHA of the deploying checkout
)

// deployAction replaces a long-running container on an engine, local or remote.
type deployAction struct {
	e *targets.Env
	t *taskfile.Target
}

// New is the deploy action of target t.
func New(e *targets.Env, t *taskfile.Target) engine.Action {
	return &deployAction{e: e, t: t}
}

func (a *deployAction) Kind() string { return "deploy" }

// ReceivesEnv says the deployed container gets [env] and the target's env.
func (a *deployAction) ReceivesEnv() bool { return true }

func (a *deployAction) d() *taskfile.Deploy { return a.t.Deploy }

// remote reports whether the target engine runs on another machine, where
// the task file's relative bind mounts and dtask's own loopback mean nothing.
func (a *deployAction) remote() bool {
	return !hostIsLocal(cmp.Or(a.d().Host, a.e.Host, os.Getenv("DOCKER_HOST")))
}

// hostIsLocal: an empty host (the default socket), a unix
// socket, or a tcp/ssh engine on a loopback address publishes its ports on
// this machine.
func hostIsLocal(host string) bool {
	if host == "" || strings.HasPrefix(host, "unix://") || strings.HasPrefix(host, "npipe://") {
		return true
	}
	u, err := url.Parse(host)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// engine connects to the deploy host; done releases the connection.
func (a *deployAction) engine(ctx context.Context) (cli *docker.Client, done func(), err error) {
	if a.d().Host == "" {
		cli, err = a.e.Docker(ctx)
		return cli, func() {}, err
	}
	cli, err = a.e.DialHost(ctx, a.d().Host)
	if err != nil {
		return nil, nil, err
	}
	return cli, func() { _ = cli.Close() }, nil
}

// spec is the container to start, without its labels (they need the image ID).
func (a *deployAction) spec() (run.ContainerSpec, error) {
	d := a.d()
	if d.Name == "" || d.Image == "" {
		return run.ContainerSpec{}, fmt.Errorf("deploy needs a name and an image")
	}
	binds, _, err := run.ResolveVolumes(a.e.File.TargetDir(a.t), d.Volumes)
	if err != nil {
		return run.ContainerSpec{}, err
	}
	if a.remote() {
		// Host paths name the remote machine's files: keep them as written.
		for i, v := range d.Volumes {
			if src, _, _ := strings.Cut(v, ":"); !strings.HasPrefix(src, "/") && binds[i] != v {
				return run.ContainerSpec{}, fmt.Errorf("volume %q: a relative host path cannot be mounted on a remote engine", v)
			}
			binds[i] = v
		}
	}
	return run.ContainerSpec{
		Name:  d.Name,
		Image: d.Image,
		Cmd:   d.Cmd,
		Env:   run.MergeEnv(a.e.File.Env, a.t.Env, d.Env),
		Binds: binds,
		Ports: d.Ports,
	}, nil
}

// defHash identifies what the container is started with apart from its
// image: the deploy table, the env it receives and the resolved mounts.
func defHash(s run.ContainerSpec, d *taskfile.Deploy) string {
	b, _ := json.Marshal(struct {
		Spec  run.ContainerSpec
		Ready *taskfile.Ready
	}{s, d.Ready})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Plan hashes the definition, the engine it goes to and the image's local
// ID; a key that matches a record whose container still runs is skipped.
func (a *deployAction) Plan(ctx context.Context, p *engine.Plan) error {
	s, err := a.spec()
	if err != nil {
		return err
	}
	p.Def("deploy", a.d())
	p.Input("deploy.def", defHash(s, a.d()))
	cli, err := a.e.Docker(ctx)
	if err != nil {
		return err
	}
	host := a.d().Host
	if host == "" {
		host = cli.Host
	}
	p.Input("deploy.host", host)
	return targets.PlanImage(ctx, p, cli, "deploy", a.d().Image)
}

// Check passes when the container `name` on the host is running the
// recorded image with the recorded definition.
func (a *deployAction) Check(ctx context.Context, rec *engine.Record) (bool, string, error) {
	var was targets.DeployOutput
	if rec != nil {
		was = targets.DeployOutputOf(rec.Outputs)
	}
	if was.ImageID == "" || was.Def == "" {
		return false, "no deployment recorded", nil
	}
	cli, done, err := a.engine(ctx)
	if err != nil {
		return false, fmt.Sprintf("cannot reach %s: %v", a.hostName(), err), nil
	}
	defer done()
	name := a.d().Name
	res, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return false, fmt.Sprintf("container %s is not on %s", name, a.hostName()), nil
	}
	if err != nil {
		return false, "", fmt.Errorf("inspecting container %s: %w", name, err)
	}
	c := res.Container
	var labels map[string]string
	if c.Config != nil {
		labels = c.Config.Labels
	}
	switch {
	case c.State == nil || !c.State.Running:
		return false, fmt.Sprintf("container %s on %s is not running", name, a.hostName()), nil
	case c.Image != was.ImageID || labels[LabelDeployImage] != was.ImageID:
		return false, fmt.Sprintf("container %s runs image %s, not the deployed %s",
			name, targets.ShortID(c.Image), targets.ShortID(was.ImageID)), nil
	case labels[LabelDeployDef] != was.Def:
		return false, fmt.Sprintf("container %s was started from another definition", name), nil
	}
	return true, "", nil
}

func (a *deployAction) hostName() string {
	if a.d().Host == "" {
		return "the local engine"
	}
	return a.d().Host
}

// labels are the deployed container's: dtask's common ones (no owner) and
// what Check compares.
func (a *deployAction) labels(imageID, def string) map[string]string {
	l := a.e.Labels(a.t.Name)
	l[LabelDeployImage] = imageID
	l[LabelDeployDef] = def
	if sha := a.e.GitSHA(); sha != "" {
		l[LabelDeployGit] = sha
	}
	return l
}
