package targets

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/imagecache"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

// Env is what every action of one dtask run shares: the task file, the
// Docker connection (made on first use, so a run of host commands never
// needs an engine), the run's identity for labels, and the secrets.
type Env struct {
	File    *taskfile.File // resolved (interpolated) task file
	Project string         // stable id of the project (hash of the task file path), for labels
	RunID   string         // unique per dtask process, for labels
	Verbose bool
	// StateDir is dtask's state folder (.dtask); never part of a build context.
	StateDir string
	// Written lists files dtask itself writes during the run (--junit);
	// like the state folder, never part of a build context.
	Written []string
	// Root is the project (git work tree or the task file's folder):
	// bind-mounted host paths outside it are mounted but never read for
	// hashing. Empty: the task file's folder.
	Root string
	// Revision (GIT_SHA) and Source (the repository URL) go into built
	// images' OCI labels and deployed containers' labels; empty: ask git.
	Revision, Source string
	info             buildInfo // BuildInfo's answer

	// Secret returns the value of a [secrets] entry; values are never stored or printed.
	Secret func(name string) (string, error)
	// Mask registers a value to be replaced by *** in all output.
	Mask func(value string)
	// Redact replaces the registered values in s (nil: none); what dtask
	// keeps from a container (reports) goes through it, as output does.
	Redact func(s string) string
	// Kinds are the kinds of target this run knows (targets/kinds.All);
	// Action makes each target's action from them.
	Kinds []Kind

	once   sync.Once
	swept  sync.Once
	docker *docker.Client
	err    error
	// Host overrides DOCKER_HOST for the default engine (tests).
	Host string
	// Dial connects to the engine at a DOCKER_HOST value; nil:
	// docker.ConnectHost. Logic tests pass internal/fakedocker here.
	Dial func(ctx context.Context, host string) (*docker.Client, error)

	// VolumeArchives is the folder in the user's cache folder where the
	// cache volumes of run targets are kept across engines; "": not kept.
	VolumeArchives string

	// Images is the image cache in the state folder (docs/caching.md); nil keeps
	// no images.
	Images *imagecache.Cache
	// Layers is the OCI layout store in the user's cache folder that
	// BuildKit builds import cache from and images are restored from;
	// nil keeps none. See layercache_env.go.
	Layers    *ocicache.Store
	storeOnce sync.Once
	store     string // the engine's image store, for the image cache

	// LoadCachedBuilds says whether a cached build target whose image is
	// in the image cache only is loaded at once (true) or left for the
	// Docker targets that use it to load by ID (false, and when nil). See
	// imagecache_policy.go.
	LoadCachedBuilds func(target string) bool
	// Team is the team cache images are pulled from when the engine and
	// the image cache lack them; nil: none (teamcache.go).
	Team     TeamCache
	tooLarge sync.Map // image IDs said to be over the cache budget

	objs       runObjects  // what the run created in the engine (cleanup.go)
	layersMu   sync.Mutex  // guards layerState
	layerState *layerCache // the layer cache's registry and saves (layercache_env.go)
	groups     GroupWatch  // host commands' process groups, killed if dtask dies
	engineHung atomic.Bool // the engine did not answer a ping: skip clean-ups
	sweptOnce  atomic.Bool // leftovers were swept at the start: again at exit
}

// Docker connects to the engine on first use, and then removes what runs
// killed with SIGKILL left behind, before this run adds its own.
func (e *Env) Docker(ctx context.Context) (*docker.Client, error) {
	cli, err := e.Connect(ctx)
	if err == nil {
		e.swept.Do(func() {
			_ = e.RemoveLeftovers(ctx)
			e.sweptOnce.Store(true)
		})
	}
	return cli, err
}

// Connect connects once, without the sweep.
func (e *Env) Connect(ctx context.Context) (*docker.Client, error) {
	e.once.Do(func() {
		e.docker, e.err = e.DialHost(ctx, e.Host)
		if e.err == nil {
			e.docker.Owner = e
		}
	})
	return e.docker, e.err
}

// DialHost connects to the engine at host through Dial, if set.
func (e *Env) DialHost(ctx context.Context, host string) (*docker.Client, error) {
	if e.Dial != nil {
		return e.Dial(ctx, host)
	}
	return docker.ConnectHost(ctx, host)
}

// Labels returns the labels for a container or network dtask creates for target.
func (e *Env) Labels(target string) map[string]string {
	return map[string]string{
		docker.LabelTool:    "dtask",
		docker.LabelProject: e.Project,
		docker.LabelRun:     e.RunID,
		docker.LabelTarget:  target,
	}
}
