package targets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/moby/moby/client"
	"golang.org/x/sync/errgroup"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets/docker"
)

// ServicePool runs services on a private network. A plain run makes one
// per target and closes it when the target ends. Watch mode makes one for
// the whole session and passes it as engine.Exec.Shared: services then stay
// up between runs and are replaced only when their definition or image
// changes (each container is labelled with that hash). Either way every
// container and the network carry the run's labels, so Cleanup removes them.
type ServicePool struct {
	e       *Env
	mu      sync.Mutex
	network string // name of the private network; "" until the first Up
	netID   string
	running map[string]*svcRun // by service name
	saving  sync.WaitGroup     // service images being saved to the image cache
}

type svcRun struct {
	id, hash string
}

// NewServicePool returns an empty pool; nothing is created before Up.
func NewServicePool(e *Env) *ServicePool {
	return &ServicePool{e: e, running: map[string]*svcRun{}}
}

// Up makes sure the named services run, are ready and were initialised,
// and returns the network the target's container must join to reach them
// by name.
func (p *ServicePool) Up(ctx context.Context, names []string, deps map[string]engine.Outputs, progress func(string)) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if progress == nil {
		progress = func(string) {}
	}
	cli, err := p.e.Docker(ctx)
	if err != nil {
		return "", err
	}
	if err := p.ensureNetwork(ctx, cli); err != nil {
		return "", err
	}
	type job struct {
		svc         *taskfile.Service
		image, hash string
	}
	var jobs []job
	for _, name := range names {
		svc := p.e.File.Services[name]
		if svc == nil {
			return "", fmt.Errorf("unknown service %q", name)
		}
		image, imgID, err := p.e.serviceImage(ctx, cli, svc, deps, progress)
		if err != nil {
			return "", err
		}
		hash := p.e.serviceHash(svc, imgID)
		if r := p.running[name]; r != nil {
			if r.hash == hash && containerRunning(ctx, cli, r.id) {
				continue
			}
			delete(p.running, name)
			if err := p.e.removeContainer(ctx, cli, r.id); err != nil {
				return "", err
			}
		}
		jobs = append(jobs, job{svc, image, hash})
	}
	started := make([]string, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	for i, j := range jobs {
		g.Go(func() error {
			id, err := p.start(gctx, cli, j.svc, j.image, j.hash, progress)
			started[i] = id
			return err
		})
	}
	err = g.Wait()
	for i, id := range started {
		if id != "" {
			p.running[jobs[i].svc.Name] = &svcRun{id: id, hash: jobs[i].hash}
			if jobs[i].svc.Build == "" {
				p.saveImage(ctx, cli, jobs[i].image, progress)
			}
		}
	}
	return p.network, err
}

// Close removes the pool's containers and its network.
func (p *ServicePool) Close(ctx context.Context) error {
	p.saving.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.network == "" && len(p.running) == 0 {
		return nil
	}
	cli, err := p.e.Docker(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for name, r := range p.running {
		errs = append(errs, p.e.removeContainer(ctx, cli, r.id))
		delete(p.running, name)
	}
	if p.netID != "" {
		errs = append(errs, p.e.removeNetwork(ctx, cli, p.netID))
	}
	p.network, p.netID = "", ""
	return errors.Join(errs...)
}

func (p *ServicePool) ensureNetwork(ctx context.Context, cli *docker.Client) error {
	if p.network != "" {
		return nil
	}
	name := p.e.ctrName("net")
	res, err := cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{
		Driver: "bridge",
		Labels: p.e.RunLabels("services"),
	})
	if err != nil {
		return fmt.Errorf("creating the services' network: %w", err)
	}
	p.e.track(true, res.ID)
	p.network, p.netID = name, res.ID
	return nil
}

// start creates and starts one service, waits until it is ready and runs
// its init commands. A service that fails is removed.
func (p *ServicePool) start(ctx context.Context, cli *docker.Client, svc *taskfile.Service, image, hash string, progress func(string)) (id string, err error) {
	binds, _, err := resolveVolumes(p.e.File.Dir, svc.Volumes)
	if err != nil {
		return "", fmt.Errorf("service %s: %w", svc.Name, err)
	}
	labels := p.e.RunLabels(svc.Name)
	labels[docker.LabelService] = svc.Name
	labels[docker.LabelServiceHash] = hash
	progress("starting service " + svc.Name)
	id, err = p.e.createContainer(ctx, cli, ctrSpec{
		Name:    p.e.ctrName(svc.Name),
		Image:   image,
		Cmd:     svc.Cmd,
		Env:     mergeEnv(p.e.File.Env, svc.Env),
		Binds:   binds,
		Ports:   svc.Ports,
		Labels:  labels,
		Network: p.network,
		Aliases: []string{svc.Name},
	})
	if err != nil {
		return "", fmt.Errorf("service %s: %w", svc.Name, err)
	}
	defer func() {
		if err != nil {
			rctx, cancel := p.e.cleanupContext(ctx)
			defer cancel()
			_ = p.e.removeContainer(rctx, cli, id)
			id = ""
		}
	}()
	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return id, fmt.Errorf("service %s: starting: %w", svc.Name, err)
	}
	if err := p.waitReady(ctx, cli, svc, id, progress); err != nil {
		return id, err
	}
	for _, cmd := range svc.Init {
		progress("initialising service " + svc.Name)
		code, out, err := execIn(ctx, cli, id, []string{"sh", "-c", cmd})
		if err != nil {
			return id, fmt.Errorf("service %s: init %q: %w", svc.Name, cmd, err)
		}
		if code != 0 {
			return id, fmt.Errorf("service %s: init %q exited with code %d:\n%s", svc.Name, cmd, code, out)
		}
	}
	return id, nil
}

// serviceImage returns the image to start svc from and its ID, pulling
// it if needed.
func (e *Env) serviceImage(ctx context.Context, cli *docker.Client, svc *taskfile.Service, deps map[string]engine.Outputs, progress func(string)) (ref, id string, err error) {
	if svc.Build == "" {
		id, err := ensureImage(ctx, cli, svc.Image, recordedImageID(svc.Image, deps), progress)
		if err != nil {
			return "", "", fmt.Errorf("service %s: %w", svc.Name, err)
		}
		return svc.Image, id, nil
	}
	ref = depImage(deps[svc.Build])
	if ref == "" {
		return "", "", fmt.Errorf("service %s: build target %q has not recorded an image", svc.Name, svc.Build)
	}
	// ref is the image ID the build recorded: load it from the image
	// cache if a cached build left it there only.
	id, err = ensureImage(ctx, cli, ref, ref, progress)
	if err != nil {
		return "", "", fmt.Errorf("service %s: %w", svc.Name, err)
	}
	return ref, id, nil
}

// serviceImagePlanID is the image ID a run target's key gets for svc.
func (e *Env) serviceImagePlanID(ctx context.Context, cli *docker.Client, svc *taskfile.Service, deps map[string]engine.Outputs) (string, error) {
	if svc.Build == "" {
		return planImageID(ctx, cli, svc.Image, deps)
	}
	ref := depImage(deps[svc.Build])
	if ref == "" {
		return "missing:build " + svc.Build, nil
	}
	return planImageID(ctx, cli, ref, deps)
}

// serviceHash identifies a service's definition as started: a shared
// service whose hash changed is replaced.
func (e *Env) serviceHash(svc *taskfile.Service, imageID string) string {
	b, _ := json.Marshal(struct {
		Svc   *taskfile.Service
		Image string
		Env   map[string]string
		Dir   string
	}{svc, imageID, e.File.Env, e.File.Dir})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func containerRunning(ctx context.Context, cli *docker.Client, id string) bool {
	res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	return err == nil && res.Container.State != nil && res.Container.State.Running
}
