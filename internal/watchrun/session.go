package watchrun

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/sources"
	"github.com/dtask-dev/dtask/internal/project"
	"github.com/dtask-dev/dtask/internal/watch"
	"github.com/dtask-dev/dtask/targets/run"
)

// defaultInterval is the quiet period that ends a burst of writes: long
// enough for an editor's temp-file-and-rename, short enough to feel instant.
const defaultInterval = 30 * time.Millisecond

// Config is what the command line says about a watch session.
type Config struct {
	Interval string // the quiet period that ends a burst of writes; "": 30ms
	Output   string // the display mode (--output)
	Verbose  bool
	Clear    bool      // clear the screen before each run
	Started  time.Time // when dtask started, for the start-up time -v prints
	// Load loads the task file again after it changed.
	Load func(mask *ui.Masker) (*project.Project, error)
}

// session is one `dtask -w`: a runner reused across runs, the services
// they share, the watcher and what the sources hashed to when last run.
type session struct {
	c      *Config
	p      *project.Project
	goals  []string
	mode   ui.Mode
	stdout io.Writer
	stderr io.Writer
	pool   *run.ServicePool // services shared by the runs
	w      *watch.Watcher
	det    *watch.Detector
	srcs   sources.Set // what the goals read: the event filter
	roots  []string    // paths given to the watcher so far
	// live is the display of the run in progress, if any: messages go
	// through it so that its redraws do not wipe them off a terminal.
	live atomic.Pointer[ui.Display]
	n    int // runs so far
	// prev is, by target, the last completed run's result where it ran or
	// was cached: the next run explains why a target runs from its key
	// in memory, not from the record's chunks.
	prev map[string]*engine.Result
	// since is every file whose content changed since the last completed
	// run (prev); nil: unknown (events lost, the task file reloaded, the
	// first run), so the next run plans every target.
	since []string
	// learned is, by target, the result whose key lines learn gave the
	// detector last: the next learns only the lines that differ from it.
	learned map[string]*engine.Result
}

// runInProgress is one run in progress.
type runInProgress struct {
	n       int
	start   time.Time
	disp    ui.Display
	cancel  context.CancelFunc
	done    chan runEnd
	stopped *stoppedTargets
}

// stop cancels the run, its targets then shown as stopped for why.
func (r *runInProgress) stop(why string) {
	r.stopped.why.Store(&why)
	r.cancel()
}

type runEnd struct {
	results []*engine.Result
	err     error
}

// Run runs the goals, then again after every change to a source of
// theirs, until ctx is cancelled (Ctrl-C), when it stops the run in
// progress, removes the services and returns an InterruptedError (130).
func Run(ctx context.Context, c *Config, p *project.Project, goals []string, stdout, stderr io.Writer) error {
	quiet, err := Interval(c.Interval)
	if err != nil {
		return err
	}
	s := &session{c: c, p: p, goals: goals, stdout: stdout, stderr: stderr,
		mode: ui.Pick(ui.Mode(c.Output), stdout, os.Getenv, p.IsCI)}
	if _, err = p.Runner(nil, nil); err != nil { // the state folder opens
		return err
	}
	pool := run.NewServicePool(p.Env)
	s.pool = pool
	defer p.Cleanup()
	defer p.FinishSaves(ctx)
	defer func() {
		if err := p.CloseServices(pool); err != nil {
			fmt.Fprintf(stderr, "dtask: removing services: %v\n", err)
		}
	}()
	s.w, err = watch.New(watch.Options{
		Quiet:  quiet,
		Ignore: watchIgnore(p.StateDir()),
		Warn:   func(msg string) { s.message("dtask: " + msg) },
	})
	if err != nil {
		return err
	}
	defer s.w.Close()
	// Events name every change from now on: runs re-walk and re-hash only
	// what they name.
	p.Index.Follow()
	s.det = watch.NewDetector(p.Index.Hash)
	return s.loop(ctx)
}

// Interval parses --interval ("": the default). The command line checks it
// whether or not -w is given, so a typo is an error where it is written.
func Interval(s string) (time.Duration, error) {
	if s == "" {
		return defaultInterval, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, &project.UsageError{Msg: fmt.Sprintf("--interval %q: want a positive duration such as 30ms or 1s", s)}
	}
	return d, nil
}

// loop runs, watches and re-runs. Watches are registered while the first
// run goes, so start-up costs the longer of the two, not their sum.
func (s *session) loop(ctx context.Context) error {
	registered := s.register()
	s.watchTaskfile()
	cur := s.start(ctx, nil)
	first := true
	for {
		var done chan runEnd
		if cur != nil {
			done = cur.done
		}
		select {
		case <-ctx.Done():
			if cur != nil {
				cur.stop("interrupted")
				s.finish(cur, <-cur.done, "interrupted")
			}
			return &engine.InterruptedError{Cause: ctx.Err()}
		case end := <-done:
			s.finish(cur, end, "")
			cur = nil
			if first {
				first = false
				<-registered
				// What the first run hashed before the watches were in
				// place may have changed unseen.
				s.p.Index.Changed([]string{watch.Lost})
				s.since = nil
				s.ready()
			}
		case batch := <-s.w.Batches():
			s.p.Index.Changed(batch)
			changed := s.det.Changed(batch, s.srcs.Relevant)
			if len(changed) == 0 {
				s.ignored(batch)
				continue
			}
			var np *project.Project
			var goals []string
			if defs := s.p.DefinitionFiles(); slices.ContainsFunc(changed, func(c string) bool { return slices.Contains(defs, c) }) {
				np, goals = s.reload()
				if np == nil && len(changed) == 1 {
					continue // a broken task file: nothing to run yet
				}
			}
			if cur != nil {
				cur.stop("sources changed")
				s.finish(cur, <-cur.done, "sources changed")
			}
			if ctx.Err() != nil {
				continue // Ctrl-C won the race: the next turn exits
			}
			if np != nil {
				s.use(np, goals)
			}
			s.note(batch, changed, np != nil)
			cur = s.start(ctx, changed)
		}
	}
}

// note adds a batch's changed files to those since the last completed
// run; lost events or a reloaded task file make them unknown until a run
// that planned every target completes.
func (s *session) note(batch, changed []string, reloaded bool) {
	if reloaded || slices.Contains(batch, watch.Lost) {
		s.since = nil
		return
	}
	if s.since != nil {
		s.since = append(s.since, changed...)
	}
}

// ignored says, with -v, that a batch of events changed no source: why
// nothing ran (and what tests wait for instead of sleeping).
func (s *session) ignored(batch []string) {
	if s.c.Verbose {
		s.message(fmt.Sprintf("dtask: %d changed paths, no source among them: nothing to run", len(batch)))
	}
}

// register starts watching what the goals read, in the background; the
// channel closes when every root is watched.
func (s *session) register() <-chan struct{} {
	registered := make(chan struct{})
	s.srcs = s.p.WatchSources(s.goals)
	s.roots = s.srcs.Watch()
	roots := slices.Clone(s.roots) // s.roots grows on this goroutine meanwhile
	go func() {
		defer close(registered)
		for _, r := range roots {
			_ = s.w.Add(r)
		}
	}()
	return registered
}

// watchTaskfile follows the task file itself and its compose files:
// editing one reloads it.
func (s *session) watchTaskfile() {
	for _, path := range s.p.DefinitionFiles() {
		if sum, err := s.p.Index.Hash(path); err == nil {
			s.det.Learn(path, sum)
		}
		s.roots = append(s.roots, path)
		_ = s.w.Add(path)
	}
}

// reload loads the edited task file. One that no longer loads is
// reported and nil returned: the previous one stays in use.
func (s *session) reload() (*project.Project, []string) {
	np, err := s.c.Load(s.p.Mask)
	var goals []string
	if err == nil {
		goals, err = np.Goals()
	}
	if err != nil {
		s.message(fmt.Sprintf("dtask: %s changed but cannot be used, still using the previous version:\n%v", s.p.File.Path, err))
		return nil, nil
	}
	return np, goals
}

// use switches to a reloaded task file between runs. The actions' Env
// stays the same one, with the new file, so that the service pool compares
// each service's new definition with the running one and replaces only
// those that changed.
func (s *session) use(np *project.Project, goals []string) {
	env := s.p.Env
	env.File, env.Secret, env.Mask, env.Redact = np.File, np.Secret, np.Mask.Add, np.Mask.Mask
	np.Env = env
	np.Index = s.p.Index
	s.p, s.goals = np, goals
	s.follow()
}

// follow works out the sources again (a reloaded task file, a new
// .dockerignore) and watches any path not watched yet.
func (s *session) follow() {
	s.srcs = s.p.WatchSources(s.goals)
	for _, r := range s.srcs.Watch() {
		if !slices.Contains(s.roots, r) {
			s.roots = append(s.roots, r)
			_ = s.w.Add(r)
		}
	}
}

// start begins run n+1 with a header saying what changed and when.
func (s *session) start(ctx context.Context, changed []string) *runInProgress {
	s.n++
	if s.c.Clear {
		fmt.Fprint(s.stdout, "\x1b[H\x1b[2J\x1b[3J")
	}
	stopped := &stoppedTargets{Display: ui.New(s.mode, s.stdout, s.p.Mask, s.c.Verbose)}
	var disp ui.Display = stopped
	disp.Message(s.header(changed))
	s.live.Store(&disp)
	rctx, cancel := context.WithCancel(ctx)
	run := &runInProgress{n: s.n, start: time.Now(), disp: disp, cancel: cancel, done: make(chan runEnd, 1), stopped: stopped}
	// A runner per run, over the session's project, index and services.
	r, err := s.p.Runner(disp, s.pool)
	if err != nil {
		run.done <- runEnd{nil, err}
		return run
	}
	r.Previous, r.Changed = s.prev, s.since
	goals := s.goals
	go func() {
		results, err := r.Run(rctx, goals)
		run.done <- runEnd{results, err}
	}()
	return run
}

// finish prints the run's one-line result and, for a run that completed,
// learns what its sources hashed to and watches any path its targets read
// that the task file did not name.
func (s *session) finish(run *runInProgress, end runEnd, stopped string) {
	run.cancel()
	elapsed := time.Since(run.start).Round(time.Millisecond)
	if stopped != "" {
		run.disp.Message(fmt.Sprintf("■ run %d stopped after %s: %s", run.n, elapsed, stopped))
		s.live.Store(nil)
		run.disp.Close()
		return
	}
	run.disp.Message(s.resultLine(run.n, end, elapsed))
	s.live.Store(nil)
	run.disp.Close()
	s.learn(end.results)
	s.keepResults(end.results)
	s.since = []string{} // what changes from now on is known from events
	s.follow()
}

// keepResults keeps, for the next run, the results of the targets that
// ran or were cached; the others' records are not what they planned.
func (s *session) keepResults(results []*engine.Result) {
	if s.prev == nil {
		s.prev = map[string]*engine.Result{}
	}
	for _, res := range results {
		if res.Key != "" && (res.Status == engine.Ran || res.Status == engine.Cached) {
			s.prev[res.Target] = res
		} else {
			delete(s.prev, res.Target)
		}
	}
}
