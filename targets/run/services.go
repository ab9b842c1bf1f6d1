package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"golang.org/x/sync/errgroup"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// ServicePool runs services on a private network. A plain run makes one
// for the whole run and watch mode one for the whole session, passed as
// engine.Exec.Shared: a service is started once, shared by every target
// that lists it, and replaced only when its definition or image changes
// (each container is labelled with that hash). A target with
// fresh_services gets a pool of its own, closed when it ends. Every
// container and the network carry the run's labels, so Cleanup removes them.
type ServicePool struct {
	e       *targets.Env
	mu      sync.Mutex
	network string // name of the private network; "" until the first Up
	netID   string
	running map[string]*svcRun // by service name
	saving  sync.WaitGroup     // service images being saved to the image cache
	// Prestart's bookkeeping: services started ahead of their target
	// and not yet used by a target (under mu); under aheadMu, those being
	// started so, how to stop those starts, and closed: no more of them.
	unclaimed map[string]bool
	aheadMu   sync.Mutex
	starting  map[string]bool
	ahead     sync.WaitGroup
	cancels   []context.CancelFunc
	closed    bool
}

type svcRun struct {
	id, hash string
}

// NewServicePool returns an empty pool; nothing is created before Up.
func NewServicePool(e *targets.Env) *ServicePool {
	return &ServicePool{e: e, running: map[string]*svcRun{}, starting: map[string]bool{}, unclaimed: map[string]bool{}}
}

// Up makes sure the named services run, are ready and were initialised,
// and returns the network the target's container must join to reach them
// by name. A service already running with the same definition and image
// is kept: in one run it is shared by every target that lists it, in
// dependency order, so what a migrate target wrote a test target reads.
func (p *ServicePool) Up(ctx context.Context, names []string, x *engine.Exec) (string, error) {
	net, _, err := p.up(ctx, names, x, false)
	return net, err
}

// up is Up that also returns the services started fresh for this target:
// now, or ahead of it by Prestart (ahead: this is that start).
func (p *ServicePool) up(ctx context.Context, names []string, x *engine.Exec, ahead bool) (string, []string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	log := newSvcLog(x)
	net, fresh, err := p.upLocked(ctx, names, x, log)
	if ahead {
		p.aheadMu.Lock()
		for _, n := range names {
			delete(p.starting, n)
		}
		p.aheadMu.Unlock()
		for _, n := range fresh {
			if p.running[n] != nil {
				p.unclaimed[n] = true
			}
		}
		return net, fresh, err
	}
	early := p.claim(withDependencies(p.e.File.Services, names))
	for _, n := range early {
		log.say("service %s: started ahead of %s, while its deps ran", n, x.Target.Name)
	}
	return net, append(early, fresh...), err
}

func (p *ServicePool) upLocked(ctx context.Context, names []string, x *engine.Exec, log *svcLog) (string, []string, error) {
	cli, err := p.e.Docker(ctx)
	if err != nil {
		return "", nil, err
	}
	if err := p.ensureNetwork(ctx, cli); err != nil {
		return "", nil, err
	}
	jobs, err := p.toStart(ctx, cli, withDependencies(p.e.File.Services, names), x.Deps, log)
	if err != nil {
		return "", nil, err
	}
	// A level starts once the services it depends on (compose depends_on) are ready.
	for _, level := range levels(jobs) {
		if err = p.startAll(ctx, cli, level, log); err != nil {
			break
		}
	}
	fresh := make([]string, len(jobs))
	for i, j := range jobs {
		fresh[i] = j.svc.Name
	}
	return p.network, fresh, err
}

// startAll starts jobs in parallel and keeps those that started.
func (p *ServicePool) startAll(ctx context.Context, cli *docker.Client, jobs []svcJob, log *svcLog) error {
	started := make([]string, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	for i, j := range jobs {
		g.Go(func() error {
			id, err := p.start(gctx, cli, j, log)
			started[i] = id
			return err
		})
	}
	err := g.Wait()
	for i, id := range started {
		if id != "" {
			p.running[jobs[i].svc.Name] = &svcRun{id: id, hash: jobs[i].hash}
			if jobs[i].fetched {
				p.saveImage(ctx, cli, jobs[i].image, log.progress)
			}
		}
	}
	return err
}

// svcJob is a service to start: its definition, image and hash, and
// whether the engine lacked that image (not a build's) and dtask fetched
// it: only then is it carried in the image cache.
type svcJob struct {
	svc         *taskfile.Service
	image, hash string
	fetched     bool
}

// toStart returns the services that are not running as defined, removing
// those running with an older definition.
func (p *ServicePool) toStart(ctx context.Context, cli *docker.Client, names []string, deps map[string]engine.Outputs, log *svcLog) ([]svcJob, error) {
	var jobs []svcJob
	for _, name := range names {
		svc := p.e.File.Services[name]
		if svc == nil {
			return nil, fmt.Errorf("unknown service %q", name)
		}
		image, imgID, fetched, err := serviceImage(ctx, p.e, cli, svc, deps, log.progress)
		if err != nil {
			return nil, err
		}
		hash := serviceHash(p.e, svc, imgID)
		if r := p.running[name]; r != nil {
			if r.hash == hash && ContainerRunning(ctx, cli, r.id) {
				if !p.unclaimed[name] { // else it is reported as started ahead, not shared
					log.say("service %s: already running (%s), shared", name, shortID(r.id))
				}
				continue
			}
			delete(p.running, name)
			log.say("service %s: definition or image changed, replacing it", name)
			if err := p.e.RemoveContainer(ctx, cli, r.id); err != nil {
				return nil, err
			}
		}
		jobs = append(jobs, svcJob{svc, image, hash, fetched})
	}
	return jobs, nil
}

// Close removes the pool's containers and its network.
func (p *ServicePool) Close(ctx context.Context) error {
	p.stopAhead()
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
		errs = append(errs, p.e.RemoveContainer(ctx, cli, r.id))
		delete(p.running, name)
	}
	if p.netID != "" {
		errs = append(errs, p.e.RemoveNetwork(ctx, cli, p.netID))
	}
	p.network, p.netID = "", ""
	return errors.Join(errs...)
}

func (p *ServicePool) ensureNetwork(ctx context.Context, cli *docker.Client) error {
	if p.network != "" {
		return nil
	}
	name := ctrName(p.e, "net")
	// A create the client gives up on mid-way (Ctrl-C, or Close stopping
	// a start ahead) may still make the network, which the pool would then
	// not know to remove: let it be answered.
	ctx, cancel := targets.Graced(ctx)
	defer cancel()
	res, err := cli.NetworkCreate(ctx, name, client.NetworkCreateOptions{
		Driver: "bridge",
		Labels: p.e.RunLabels("services"),
	})
	if err != nil {
		return fmt.Errorf("creating the services' network: %w", err)
	}
	p.e.Track(true, res.ID)
	p.network, p.netID = name, res.ID
	return nil
}

// start creates and starts one service, waits until it is ready and runs
// its init commands. A service that fails is removed.
func (p *ServicePool) start(ctx context.Context, cli *docker.Client, j svcJob, log *svcLog) (id string, err error) {
	svc := j.svc
	spec, err := p.serviceSpec(ctx, cli, j)
	if err != nil {
		return "", fmt.Errorf("service %s: %w", svc.Name, err)
	}
	log.step("starting service %s from %s", svc.Name, j.from())
	id, err = CreateContainer(ctx, p.e, cli, spec)
	if err != nil {
		return "", fmt.Errorf("service %s: %w", svc.Name, err)
	}
	defer func() {
		if err != nil {
			rctx, cancel := p.e.CleanupContext(ctx)
			defer cancel()
			_ = p.e.RemoveContainer(rctx, cli, id)
			id = ""
		}
	}()
	began := time.Now()
	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return id, fmt.Errorf("service %s: starting: %w", svc.Name, err)
	}
	what, err := p.waitReady(ctx, cli, svc, id, log)
	if err != nil {
		return id, err
	}
	log.say("service %s: ready after %s (%s)", svc.Name, time.Since(began).Round(time.Millisecond), what)
	return id, p.initService(ctx, cli, svc, id, log)
}

// initService runs the service's init commands with sh -c, in order.
func (p *ServicePool) initService(ctx context.Context, cli *docker.Client, svc *taskfile.Service, id string, log *svcLog) error {
	for _, cmd := range svc.Init {
		log.step("initialising service %s: sh -c %q", svc.Name, cmd)
		began := time.Now()
		code, out, err := execIn(ctx, cli, id, []string{"sh", "-c", cmd})
		if err != nil {
			return fmt.Errorf("service %s: init %q: %w", svc.Name, cmd, err)
		}
		if code != 0 {
			return fmt.Errorf("service %s: init %q exited with code %d:\n%s", svc.Name, cmd, code, out)
		}
		log.say("service %s: init %q done in %s", svc.Name, cmd, time.Since(began).Round(time.Millisecond))
	}
	return nil
}

// from names the image a service starts from, for messages.
func (j svcJob) from() string {
	if j.svc.Build != "" {
		return "the image of target " + j.svc.Build
	}
	return j.svc.Image
}

// serviceImage returns the image to start svc from and its ID, pulling
// it if needed, and whether the engine lacked that image (never for a
// build target's image, which its build carries: `build = TARGET`, or an
// image named by a tag a dep's build recorded).
func serviceImage(ctx context.Context, e *targets.Env, cli *docker.Client, svc *taskfile.Service, deps map[string]engine.Outputs, progress func(string)) (ref, id string, fetched bool, err error) {
	if svc.Build == "" {
		want := targets.RecordedImageID(svc.Image, deps)
		id, fetched, err := targets.EnsureImageFetched(ctx, cli, svc.Image, want, progress)
		if err != nil {
			return "", "", false, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		return svc.Image, id, fetched && want == "", nil
	}
	built := targets.BuildOutputOf(deps[svc.Build])
	ref = built.ImageID
	if ref == "" {
		return "", "", false, fmt.Errorf("service %s: build target %q has not recorded an image", svc.Name, svc.Build)
	}
	// ref is the image ID the build recorded: load it from the image
	// cache if a cached build left it there only, under the build's tag,
	// so that the restored image has a name of its own.
	name := ref
	if len(built.Tags) > 0 {
		name = built.Tags[0]
	}
	id, err = targets.EnsureImage(ctx, cli, name, ref, progress)
	if err != nil {
		return "", "", false, fmt.Errorf("service %s: %w", svc.Name, err)
	}
	return ref, id, false, nil
}

// builtServicePlanID is the image ID a run target's key gets for svc, a
// service started from a build target's image: the ID that build recorded.
func builtServicePlanID(svc *taskfile.Service, deps map[string]engine.Outputs) string {
	if id := targets.DepImage(deps[svc.Build]); id != "" {
		return id
	}
	return "missing:build " + svc.Build
}

// serviceHash identifies a service's definition as started: a shared
// service whose hash changed is replaced.
func serviceHash(e *targets.Env, svc *taskfile.Service, imageID string) string {
	b, _ := json.Marshal(struct {
		Svc      *taskfile.Service
		Image    string
		Env      map[string]string
		Dir      string
		Loopback bool // published for host commands
	}{svc, imageID, e.File.Env, e.File.Dir, onLoopback(e, svc.Name)})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// shortID is the 12-character form docker ps shows.
func shortID(id string) string { return id[:min(12, len(id))] }

func ContainerRunning(ctx context.Context, cli *docker.Client, id string) bool {
	res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	return err == nil && res.Container.State != nil && res.Container.State.Running
}
