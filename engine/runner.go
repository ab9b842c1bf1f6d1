package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
)

// Options are the command line's choices for one run.
type Options struct {
	Jobs    int             // parallel targets; 0 means the number of CPUs
	Force   map[string]bool // targets to run even when up to date
	NoCache bool            // ignore recorded successes (still record new ones)
	DryRun  bool            // decide and report, run nothing
	Verbose bool
}

// Runner runs targets of one resolved task file.
type Runner struct {
	File     *taskfile.File // interpolated
	Store    *cache.Store
	Index    *cache.Index
	Actions  Factory
	Reporter Reporter
	HostEnv  []string // process environment for host commands
	Branch   string   // GIT_BRANCH, for when.branch
	EnvName  string   // the chosen --env, for when.env
	Opts     Options
	// Shared is handed to every action (watch mode's long-lived services).
	Shared any
	// Redact masks secret values; records and debug output never hold them.
	Redact func(string) string
	// Root is the project (the git work tree holding the task file): bind
	// mounts outside it are not hashed.
	Root string
	// StateDir is the state folder (absolute); files in it are never sources.
	StateDir string
	// Written lists files dtask itself writes during the run (--junit):
	// never sources either.
	Written []string
	// MaxStateSize is cache.max_size: the budget of the state folder that
	// pruning keeps it within after a run (0: cache.DefaultMaxSize).
	MaxStateSize int64
	// Records, when set, is where records are looked up and written in
	// place of Store (a tier of the local store and a team cache).
	Records RecordStore
	// Previous is, by target, what this process last ran or found cached
	// (watch mode's previous run): when it is the target's latest record,
	// why compares keys in memory instead of reading the record.
	Previous map[string]*Result
	// Changed lists the files whose content changed since the run that
	// gave Previous (watch mode's events); nil: unknown, plan every
	// target. Targets no changed file feeds keep their previous result.
	Changed []string

	mu      sync.Mutex
	results map[string]*Result
	order   []string
}

// RecordStore keeps success records by key; *cache.Store is one.
type RecordStore interface {
	// Hit returns the record for key, its lines left out where that is
	// cheaper: what deciding that a target is up to date needs.
	Hit(key string) (*Record, bool)
	// Put records rec; its lines may come as its Source key (Lines nil).
	Put(rec *Record) error
	// Why explains how the key cur differs from target's latest record;
	// ok is false without one.
	Why(target string, cur *cache.Key) (reasons []string, ok bool)
}

// records is the store records go through.
func (r *Runner) records() RecordStore {
	if r.Records != nil {
		return r.Records
	}
	return r.Store
}

// FailedError says targets failed; dtask exits 1.
type FailedError struct{ Targets []string }

func (e *FailedError) Error() string {
	return "failed: " + strings.Join(e.Targets, ", ")
}
func (e *FailedError) ExitCode() int { return 1 }

// InterruptedError says the run was cancelled (Ctrl-C, SIGTERM); dtask exits 130.
type InterruptedError struct{ Cause error }

func (e *InterruptedError) Error() string { return "interrupted" }
func (e *InterruptedError) Unwrap() error { return e.Cause }
func (e *InterruptedError) ExitCode() int { return 130 }

// Run runs the goals in order, each with its deps, and returns every
// target's result in the order they finished.
func (r *Runner) Run(ctx context.Context, goals []string) ([]*Result, error) {
	r.results = make(map[string]*Result, len(r.File.Targets))
	r.order = make([]string, 0, len(r.File.Targets))
	for i, g := range goals {
		if err := r.runGoal(ctx, g); err != nil {
			r.notRun(ctx, goals[i+1:])
			break
		}
	}
	if r.Index != nil && !r.Opts.DryRun {
		_ = r.Index.Save() // the index is only a speed-up; losing it costs a re-hash
	}
	if r.Store != nil && !r.Opts.DryRun {
		_ = r.Store.SaveHeads() // a speed-up too; losing it costs a read per record
	}
	if r.Store != nil && r.ranAny() {
		max := r.MaxStateSize
		if max <= 0 {
			max = cache.DefaultMaxSize
		}
		// Every target's latest record is kept anyway: counting them in
		// the limit would make every run of a large graph read them all.
		r.Store.Prune(cache.Limits{MaxSize: max, MaxRecords: keepRecords + len(r.File.Targets)})
	}
	return r.finished(), r.outcome(ctx)
}

// notRun records the targets of goals that never started after a failure
// or an interrupt, so that the summary and reports list every target.
func (r *Runner) notRun(ctx context.Context, goals []string) {
	names, err := r.File.Closure(goals)
	if err != nil {
		return
	}
	why := "stopped after a failure"
	if ctx.Err() != nil {
		why = "interrupted"
	}
	for _, n := range names {
		if r.result(n) == nil {
			r.record(&Result{Target: n, Kind: r.File.Targets[n].ActionKind(), Status: NotRun, Reason: why})
		}
	}
}

// keepRecords is how many success records a project keeps besides each
// target's latest: enough for many branches' worth of every target; the
// size budget bounds what they take on disk.
const keepRecords = 500

func (r *Runner) ranAny() bool {
	for _, res := range r.finished() {
		if res.Status == Ran {
			return true
		}
	}
	return false
}

func (r *Runner) finished() []*Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Result, 0, len(r.order))
	for _, n := range r.order {
		out = append(out, r.results[n])
	}
	return out
}

func (r *Runner) outcome(ctx context.Context) error {
	if ctx.Err() != nil {
		return &InterruptedError{Cause: ctx.Err()}
	}
	var failed []string
	for _, res := range r.finished() {
		if res.Status == Failed {
			failed = append(failed, res.Target)
		}
	}
	if len(failed) > 0 {
		return &FailedError{Targets: failed}
	}
	return nil
}

func (r *Runner) jobs() int {
	if r.Opts.Jobs > 0 {
		return r.Opts.Jobs
	}
	return runtime.NumCPU()
}

// runGoal schedules the goal's closure: a target becomes ready when its
// pending dep count drops to zero; up to jobs targets run at once. After a
// failure nothing new starts, but running targets finish.
func (r *Runner) runGoal(ctx context.Context, goal string) error {
	names, err := r.File.Closure([]string{goal})
	if err != nil {
		return err
	}
	s := newSchedule(r, names)
	return s.run(ctx)
}

func (r *Runner) result(name string) *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.results[name]
}

func (r *Runner) record(res *Result) {
	r.mu.Lock()
	r.results[res.Target] = res
	r.order = append(r.order, res.Target)
	r.mu.Unlock()
	r.Reporter.Finish(res)
}

var errDepFailed = errors.New("dep failed")

func depError(dep string, st Status) string {
	return fmt.Sprintf("dep %s %s", dep, st)
}
