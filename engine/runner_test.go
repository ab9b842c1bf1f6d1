package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/testwait"
)

// fake is an Action whose behaviour a test scripts per target.
type fake struct {
	name  string
	world *world
}

// world is what the fake actions share: how each behaves, and what happened.
type world struct {
	mu    sync.Mutex
	def   map[string]string        // definition per target: changing it changes the key
	fail  map[string]bool          // targets whose Run fails
	block map[string]chan struct{} // targets whose Run waits for the channel or ctx
	gone  map[string]bool          // targets whose Check says the output is missing
	// fetch names the image ID each target's Run fetches; the engine has
	// it once in have (nil: fakes consume no image).
	fetch, have map[string]string
	ran         []string
	running     atomic.Int32
	maxConc     atomic.Int32
}

func newWorld() *world {
	return &world{def: map[string]string{}, fail: map[string]bool{}, block: map[string]chan struct{}{}, gone: map[string]bool{}}
}

func (f *fake) Kind() string { return "fake" }

func (f *fake) Plan(_ context.Context, p *Plan) error {
	f.world.mu.Lock()
	defer f.world.mu.Unlock()
	p.Def("fake", f.world.def[f.name])
	if id, ok := f.world.fetch[f.name]; ok && f.world.have[id] == "" {
		p.ImageToFetch("fetched", "missing", func(context.Context) (string, error) {
			f.world.mu.Lock()
			defer f.world.mu.Unlock()
			return f.world.have[id], nil
		})
	} else if ok {
		p.Image("fetched", id)
	}
	return nil
}

func (f *fake) Check(context.Context, *Record) (bool, string, error) {
	f.world.mu.Lock()
	defer f.world.mu.Unlock()
	if f.world.gone[f.name] {
		return false, "output of " + f.name + " is missing", nil
	}
	return true, "", nil
}

func (f *fake) Run(ctx context.Context, x *Exec) (Outputs, error) {
	w := f.world
	n := w.running.Add(1)
	defer w.running.Add(-1)
	for {
		m := w.maxConc.Load()
		if n <= m || w.maxConc.CompareAndSwap(m, n) {
			break
		}
	}
	w.mu.Lock()
	w.ran = append(w.ran, f.name)
	block, fail := w.block[f.name], w.fail[f.name]
	w.mu.Unlock()
	fmt.Fprintf(x.Stdout, "running %s\n", f.name)
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail {
		return nil, errors.New("boom")
	}
	w.mu.Lock()
	if id, ok := w.fetch[f.name]; ok {
		w.have[id] = id
	}
	w.mu.Unlock()
	return Outputs{"made": f.name}, nil
}

// waitStarted returns once every named target's Run has been called (or
// after a minute, when the test's own assertions fail).
func (w *world) waitStarted(names ...string) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		ran := w.ranList()
		if !slices.ContainsFunc(names, func(n string) bool { return !slices.Contains(ran, n) }) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (w *world) ranList() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.ran...)
}

// nopReporter discards everything.
type nopReporter struct{}

func (nopReporter) Start(string, string)                 {}
func (nopReporter) Output(string) (io.Writer, io.Writer) { return io.Discard, io.Discard }
func (nopReporter) Progress(string, string)              {}
func (nopReporter) Finish(*Result)                       {}

// graph builds a task file from "name: dep dep" lines.
func graph(t *testing.T, lines ...string) *taskfile.File {
	t.Helper()
	f := &taskfile.File{Dir: t.TempDir(), Targets: map[string]*taskfile.Target{}}
	for _, l := range lines {
		name, deps, _ := strings.Cut(l, ":")
		name = strings.TrimSpace(name)
		f.Targets[name] = &taskfile.Target{Name: name, Deps: strings.Fields(deps)}
	}
	return f
}

func newRunner(t *testing.T, f *taskfile.File, w *world) *Runner {
	t.Helper()
	store, err := cache.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &Runner{
		File:  f,
		Store: store,
		Index: cache.OpenIndex(store.IndexPath()),
		Actions: func(tg *taskfile.Target, _ *taskfile.File) (Action, error) {
			return &fake{name: tg.Name, world: w}, nil
		},
		Reporter: nopReporter{},
		Opts:     Options{Jobs: 4},
	}
}

func statuses(results []*Result) map[string]string {
	m := map[string]string{}
	for _, r := range results {
		m[r.Target] = r.Status.String()
	}
	return m
}

func TestDepsRunBeforeDependents(t *testing.T) {
	f := graph(t, "app: lib gen", "lib: base", "gen: base", "base:")
	w := newWorld()
	r := newRunner(t, f, w)
	if _, err := r.Run(context.Background(), []string{"app"}); err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, n := range w.ranList() {
		pos[n] = i
	}
	if len(pos) != 4 {
		t.Fatalf("ran %v, want all four once", w.ranList())
	}
	for _, edge := range [][2]string{{"base", "lib"}, {"base", "gen"}, {"lib", "app"}, {"gen", "app"}} {
		if pos[edge[0]] > pos[edge[1]] {
			t.Errorf("%s ran after %s: %v", edge[0], edge[1], w.ranList())
		}
	}
}

// -j N runs N targets at once, and no more. The targets wait until the
// test has seen N of them running, so that no target ends before the
// others start however the machine schedules them (they slept 30 ms and
// hoped to overlap): a runner that ran fewer at once would never get
// there, one that ran more would be seen above N.
func TestParallelismIsBoundedByJobs(t *testing.T) {
	f := graph(t, "all: a b c d e f", "a:", "b:", "c:", "d:", "e:", "f:")
	for _, jobs := range []int{1, 3} {
		w := newWorld()
		release := make(chan struct{})
		for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
			w.block[n] = release
		}
		r := newRunner(t, f, w)
		r.Opts.Jobs = jobs
		done := make(chan error, 1)
		go func() { _, err := r.Run(context.Background(), []string{"all"}); done <- err }()
		if !testwait.Until(time.Minute, func() bool { return w.running.Load() >= int32(jobs) }) {
			t.Fatalf("-j %d: %d running at once, never %d", jobs, w.running.Load(), jobs)
		}
		close(release)
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("-j %d: hung after the targets were released", jobs)
		}
		if got := w.maxConc.Load(); got != int32(jobs) {
			t.Errorf("-j %d: at most %d ran at once, want exactly %d", jobs, got, jobs)
		}
	}
}

// With fewer workers than ready targets, the one with the longest chain
// of dependents goes first: the test image, which the tests, the push
// and the deploy wait for, before the app image (first by name).
func TestLongestChainOfDependentsRunsFirst(t *testing.T) {
	f := graph(t, "ci: deploy", "deploy: publish", "publish: test image", "test: test-image", "image:", "test-image:")
	w := newWorld()
	r := newRunner(t, f, w)
	r.Opts.Jobs = 1
	if _, err := r.Run(context.Background(), []string{"ci"}); err != nil {
		t.Fatal(err)
	}
	if got := w.ranList(); len(got) < 2 || got[0] != "test-image" {
		t.Errorf("ran %v; want test-image first", got)
	}
}

func TestChainHeights(t *testing.T) {
	f := graph(t, "ci: deploy lint", "deploy: publish", "publish: test image", "test: test-image", "image:", "test-image:", "lint:")
	r := newRunner(t, f, newWorld())
	s := newSchedule(r, []string{"ci", "deploy", "publish", "test", "image", "test-image", "lint"})
	h := chainHeights(s)
	want := map[string]int32{"ci": 1, "deploy": 2, "lint": 2, "publish": 3, "test": 4, "image": 4, "test-image": 5}
	for i, n := range s.names {
		if h[i] != want[n] {
			t.Errorf("height of %s = %d, want %d", n, h[i], want[n])
		}
	}
}

func TestFailureStopsDependentsButRunningTargetsFinish(t *testing.T) {
	f := graph(t, "all: bad slow", "bad:", "slow:", "after: bad", "top: after slow")
	w := newWorld()
	w.fail["bad"] = true
	release := make(chan struct{})
	w.block["slow"] = release
	r := newRunner(t, f, w)
	// slow is released once both have started: it is running while bad fails.
	go func() { w.waitStarted("bad", "slow"); close(release) }()
	results, err := r.Run(context.Background(), []string{"top"})
	var fe *FailedError
	if !errors.As(err, &fe) || fe.ExitCode() != 1 || fe.Targets[0] != "bad" {
		t.Fatalf("err = %v, want FailedError naming bad", err)
	}
	got := statuses(results)
	want := map[string]string{"bad": "failed", "slow": "ran", "after": "not run", "top": "not run"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s (all: %v)", k, got[k], v, got)
		}
	}
}

func TestSecondRunIsCachedAndChangesRerunDependents(t *testing.T) {
	f := graph(t, "app: lib", "lib:")
	w := newWorld()
	w.def["lib"], w.def["app"] = "v1", "v1"
	r := newRunner(t, f, w)
	run := func() map[string]string {
		t.Helper()
		res, err := r.Run(context.Background(), []string{"app"})
		if err != nil {
			t.Fatal(err)
		}
		return statuses(res)
	}
	if got := run(); got["lib"] != "ran" || got["app"] != "ran" {
		t.Fatalf("first run: %v", got)
	}
	if got := run(); got["lib"] != "cached" || got["app"] != "cached" {
		t.Fatalf("second run: %v", got)
	}
	w.def["lib"] = "v2"
	r.Opts.DryRun = true
	res, _ := r.Run(context.Background(), []string{"app"})
	if res[0].Reason != "definition changed: fake" || res[1].Reason != "dep lib re-ran" {
		t.Errorf("dry-run reasons: %q, %q", res[0].Reason, res[1].Reason)
	}
	r.Opts.DryRun = false
	if got := run(); got["lib"] != "ran" || got["app"] != "ran" {
		t.Fatalf("after a change: %v", got)
	}
	// Records are kept per key: going back to v1 is a cache hit.
	w.def["lib"] = "v1"
	if got := run(); got["lib"] != "cached" || got["app"] != "cached" {
		t.Fatalf("back to v1: %v", got)
	}
}

func TestMissingOutputReruns(t *testing.T) {
	f := graph(t, "img:")
	w := newWorld()
	r := newRunner(t, f, w)
	if _, err := r.Run(context.Background(), []string{"img"}); err != nil {
		t.Fatal(err)
	}
	w.gone["img"] = true
	res, err := r.Run(context.Background(), []string{"img"})
	if err != nil || res[0].Status != Ran || res[0].Reason != "output of img is missing" {
		t.Fatalf("got %v %q, %v", res[0].Status, res[0].Reason, err)
	}
}

func TestForceAndNoCache(t *testing.T) {
	f := graph(t, "app: lib", "lib:")
	w := newWorld()
	r := newRunner(t, f, w)
	r.Run(context.Background(), []string{"app"})
	r.Opts.Force = map[string]bool{"app": true}
	res, _ := r.Run(context.Background(), []string{"app"})
	if got := statuses(res); got["lib"] != "cached" || got["app"] != "ran" || res[1].Reason != "forced" {
		t.Errorf("--force app: %v (%q)", got, res[1].Reason)
	}
	r.Opts.Force = nil
	r.Opts.NoCache = true
	res, _ = r.Run(context.Background(), []string{"app"})
	if got := statuses(res); got["lib"] != "ran" || got["app"] != "ran" {
		t.Errorf("--no-cache: %v", got)
	}
}

func TestFailureIsNotRecorded(t *testing.T) {
	f := graph(t, "x:")
	w := newWorld()
	w.fail["x"] = true
	r := newRunner(t, f, w)
	r.Run(context.Background(), []string{"x"})
	w.fail["x"] = false
	res, _ := r.Run(context.Background(), []string{"x"})
	if res[0].Status != Ran || res[0].Reason != "no previous run" {
		t.Errorf("after a failure: %v %q", res[0].Status, res[0].Reason)
	}
}

func TestCancelStopsRunningAndPendingTargets(t *testing.T) {
	f := graph(t, "top: long", "long:")
	w := newWorld()
	w.block["long"] = make(chan struct{}) // never released
	r := newRunner(t, f, w)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { w.waitStarted("long"); cancel() }()
	type ran struct {
		res []*Result
		err error
	}
	done := make(chan ran, 1)
	go func() { res, err := r.Run(ctx, []string{"top"}); done <- ran{res, err} }()
	var res []*Result
	var err error
	select {
	case got := <-done:
		res, err = got.res, got.err
	case <-time.After(time.Minute): // a hang: long is never released but by ctx
		t.Fatal("Run did not return after cancel")
	}
	var ie *InterruptedError
	if !errors.As(err, &ie) || ie.ExitCode() != 130 {
		t.Fatalf("err = %v, want InterruptedError", err)
	}
	if got := statuses(res); got["long"] != "failed" || got["top"] != "not run" {
		t.Errorf("statuses %v", got)
	}
}

func TestWhenSkipsAndSkipsDependents(t *testing.T) {
	f := graph(t, "deploy: publish", "publish:")
	f.Targets["publish"].When = &taskfile.When{Branch: []string{"main", "release/*"}}
	w := newWorld()
	r := newRunner(t, f, w)
	for branch, want := range map[string]string{"feature/x": "skipped", "main": "ran", "release/2": "ran"} {
		r.Branch = branch
		r.Opts.NoCache = true
		res, err := r.Run(context.Background(), []string{"deploy"})
		if err != nil {
			t.Fatal(err)
		}
		if got := statuses(res); got["publish"] != want || got["deploy"] != want {
			t.Errorf("branch %s: %v, want %s", branch, got, want)
		}
	}
}

func TestGoalsRunInOrderEachOnce(t *testing.T) {
	f := graph(t, "a: base", "b: base", "base:")
	w := newWorld()
	r := newRunner(t, f, w)
	r.Opts.Jobs = 1
	if _, err := r.Run(context.Background(), []string{"b", "a"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.ranList(), " "); got != "base b a" {
		t.Errorf("ran %q, want \"base b a\"", got)
	}
}

func TestLaterGoalsAreReportedAfterAFailure(t *testing.T) {
	f := graph(t, "bad:", "later: dep", "dep:")
	w := newWorld()
	w.fail["bad"] = true
	r := newRunner(t, f, w)
	res, _ := r.Run(context.Background(), []string{"bad", "later"})
	got := statuses(res)
	if got["later"] != "not run" || got["dep"] != "not run" || len(res) != 3 {
		t.Errorf("results %v, want later and dep not run", got)
	}
}

// A target whose image the engine lacked when it was planned, which its
// run fetched, is recorded under the key with that image's ID: the next
// run, which finds the image, skips it and its dependents.
func TestImageFetchedByTheRunIsInItsRecordedKey(t *testing.T) {
	f := graph(t, "app: svc", "svc:")
	w := newWorld()
	w.fetch, w.have = map[string]string{"svc": "sha256:pulled"}, map[string]string{}
	r := newRunner(t, f, w)
	first, err := r.Run(context.Background(), []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(first); got["svc"] != "ran" || got["app"] != "ran" {
		t.Fatalf("first run: %v", got)
	}
	second, err := r.Run(context.Background(), []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(second); got["svc"] != "cached" || got["app"] != "cached" {
		t.Fatalf("second run: %v (%v)", got, second[0].Reason)
	}
	for i := range first {
		if first[i].Key != second[i].Key {
			t.Errorf("%s: key %s after the first run, %s on the second", first[i].Target, first[i].Key, second[i].Key)
		}
	}
}

// waitReporter signals when a target waits for another dtask's lock.
type waitReporter struct {
	nopReporter
	waiting chan struct{}
	once    sync.Once
}

func (r *waitReporter) Progress(_, msg string) {
	if strings.HasPrefix(msg, "waiting for another dtask") {
		r.once.Do(func() { close(r.waiting) })
	}
}

// A second dtask that planned a target while the first was fetching its
// image, and waited for it, finds the first one's record: the key it
// checks after the wait has the image's ID too.
func TestWaiterFindsTheRecordOfARunThatFetched(t *testing.T) {
	f := graph(t, "svc:")
	w := newWorld()
	w.fetch, w.have = map[string]string{"svc": "sha256:pulled"}, map[string]string{}
	release := make(chan struct{})
	w.block["svc"] = release
	a := newRunner(t, f, w)
	b := newRunner(t, f, w)
	b.Store, b.Index = a.Store, a.Index
	rep := &waitReporter{waiting: make(chan struct{})}
	b.Reporter = rep
	doneA, doneB := make(chan []*Result), make(chan []*Result)
	go func() {
		res, _ := a.Run(context.Background(), []string{"svc"})
		doneA <- res
	}()
	w.waitStarted("svc")
	go func() {
		res, _ := b.Run(context.Background(), []string{"svc"})
		doneB <- res
	}()
	select {
	case <-rep.waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the second runner never waited for the first")
	}
	close(release)
	first, second := <-doneA, <-doneB
	if first[0].Status != Ran || second[0].Status != Cached {
		t.Fatalf("first %v, second %v (%s); want ran, cached", first[0].Status, second[0].Status, second[0].Reason)
	}
	if first[0].Key != second[0].Key {
		t.Errorf("keys %s and %s", first[0].Key, second[0].Key)
	}
}
