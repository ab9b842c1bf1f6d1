package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/internal/dockertest"
	"github.com/dtask-dev/dtask/internal/testfs"
	"github.com/dtask-dev/dtask/internal/testwait"
)

// watchProc is a `dtask -w` started from the test binary, which TestMain
// puts on PATH as dtask.
type watchProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  string // file with its stdout and stderr
	done chan struct{}
	err  error
}

func startWatch(t *testing.T, dir string, args ...string) *watchProc {
	t.Helper()
	bin, err := exec.LookPath("dtask")
	if err != nil {
		t.Fatalf("dtask is not on PATH (TestMain puts it there): %v", err)
	}
	out := filepath.Join(t.TempDir(), "out.txt")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A quiet period wider than the default 30ms: under a loaded CI machine
	// a test's two writes 5ms apart, or a truncate and its write, must
	// still land in one run. The bench measures the default.
	cmd := exec.Command(bin, append([]string{"-w", "-v", "--output", "plain", "--interval", "100ms"}, args...)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "CI=", "GITHUB_ACTIONS=", "GITLAB_CI=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &watchProc{t: t, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { w.err = cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		select {
		case <-w.done:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-w.done
		}
		if t.Failed() {
			t.Logf("dtask output:\n%s", w.output())
		}
	})
	w.waitOutput(readyText, 60*time.Second)
	return w
}

func (w *watchProc) output() string {
	b, _ := os.ReadFile(w.out)
	return string(b)
}

// waitOutput waits for text in dtask's output.
func (w *watchProc) waitOutput(text string, limit time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if strings.Contains(w.output(), text) {
			return
		}
		select {
		case <-w.done:
			w.t.Fatalf("dtask exited (%v) before printing %q:\n%s", w.err, text, w.output())
		case <-time.After(10 * time.Millisecond):
		}
	}
	w.t.Fatalf("%q not printed within %s:\n%s", text, limit, w.output())
}

// interrupt sends SIGINT and checks that dtask exits with 130.
func (w *watchProc) interrupt() {
	w.t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGINT); err != nil {
		w.t.Fatal(err)
	}
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.t.Fatalf("dtask did not exit within 30s of SIGINT:\n%s", w.output())
	}
	if code := w.cmd.ProcessState.ExitCode(); code != 130 {
		w.t.Fatalf("exit code %d after SIGINT, want 130:\n%s", code, w.output())
	}
}

func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

// expectRuns waits until log has want lines, then checks that no further
// run comes within settle: each change gives exactly one run.
func expectRuns(t *testing.T, w *watchProc, log string, want int, settle time.Duration) {
	t.Helper()
	if !testwait.Until(60*time.Second, func() bool { return countLines(log) >= want }) {
		t.Fatalf("%d runs, want %d:\n%s", countLines(log), want, w.output())
	}
	if !testwait.Holds(settle, func() bool { return countLines(log) == want }) {
		n := countLines(log)
		t.Fatalf("%d runs after settling, want exactly %d:\n%s", n, want, w.output())
	}
}

// expectSaveRuns is expectRuns for an editor's save, a burst of events
// that is one change: want runs, or one more when the machine delivered
// the events further apart than the quiet period (a loaded machine can;
// internal/watch's TestBurstIsOneBatch holds the rule on set times).
// Then no run comes within settle; it returns the number of runs.
func expectSaveRuns(t *testing.T, w *watchProc, log string, want int, settle time.Duration) int {
	t.Helper()
	if !testwait.Until(time.Minute, func() bool { return countLines(log) >= want }) {
		t.Fatalf("%d runs, want %d:\n%s", countLines(log), want, w.output())
	}
	n := countLines(log)
	for n <= want+1 && testwait.Until(settle, func() bool { return countLines(log) != n }) {
		n = countLines(log)
	}
	if n > want+1 {
		t.Fatalf("%d runs after one save, want %d (%d if its events came apart):\n%s", n, want, want+1, w.output())
	}
	return n
}

// expectIgnored makes a change with write and waits for the watcher to say
// it changed no source; then no run may have started: a condition waited
// on, not a sleep.
func expectIgnored(t *testing.T, w *watchProc, log string, runs int, write func()) {
	t.Helper()
	const said = "no source among them: nothing to run"
	before := strings.Count(w.output(), said)
	write()
	if !testwait.Until(60*time.Second, func() bool { return strings.Count(w.output(), said) > before }) {
		t.Fatalf("the watcher never said the change was no source:\n%s", w.output())
	}
	if n := countLines(log); n != runs {
		t.Fatalf("%d runs after a change to no source, want %d:\n%s", n, runs, w.output())
	}
}

func TestWatchSh(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(t.TempDir(), "runs.log")
	testfs.Write(t, filepath.Join(dir, "Taskfile.toml"), fmt.Sprintf(`version = 1
[targets.gen]
sh = "echo gen >> %[1]s.gen"
sources = ["gen/**"]
[targets.test]
deps = ["gen"]
sh = "echo run >> %[1]s"
sources = ["src/**/*.txt", "!src/skip/**"]
`, log))
	a := filepath.Join(dir, "src/a.txt")
	testfs.Write(t, a, "v1")
	testfs.Write(t, filepath.Join(dir, "gen/g"), "g1")
	testfs.Write(t, filepath.Join(dir, ".git/HEAD"), "ref")
	w := startWatch(t, dir, "test")
	const settle = 400 * time.Millisecond
	expectRuns(t, w, log, 1, 0)

	testfs.Write(t, a, "v2")
	expectRuns(t, w, log, 2, settle)

	// An editor's save: temp file, rename over, a second write 5ms later.
	tmp := filepath.Join(dir, "src/.a.txt.swp")
	testfs.Write(t, tmp, "v3")
	if err := os.Rename(tmp, a); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	testfs.Write(t, a, "v3 again")
	runs := expectSaveRuns(t, w, log, 3, settle)

	// touch, chmod, a save without an edit, files that are no sources, .git.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(a, later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(a, 0o600); err != nil {
		t.Fatal(err)
	}
	testfs.Write(t, a, "v3 again")
	testfs.Write(t, filepath.Join(dir, "src/notes.md"), "not a source")
	testfs.Write(t, filepath.Join(dir, "src/skip/x.txt"), "excluded")
	testfs.Write(t, filepath.Join(dir, ".git/HEAD"), "ref2")
	testfs.Write(t, filepath.Join(dir, "out/build.txt"), "an output")
	expectRuns(t, w, log, runs, 2*settle)

	// A file in new nested folders.
	testfs.Write(t, filepath.Join(dir, "src/new/deeper/b.txt"), "b")
	expectRuns(t, w, log, runs+1, settle)
	testfs.Write(t, filepath.Join(dir, "src/new/deeper/c.txt"), "c")
	expectRuns(t, w, log, runs+2, settle)

	// A dep's source: the dep runs again, and so does test (its dep's key
	// changed).
	testfs.Write(t, filepath.Join(dir, "gen/g"), "g2")
	expectRuns(t, w, log+".gen", 2, 0)
	expectRuns(t, w, log, runs+3, settle)

	// Removing a source folder is a change.
	if err := os.RemoveAll(filepath.Join(dir, "src/new")); err != nil {
		t.Fatal(err)
	}
	expectRuns(t, w, log, runs+4, settle)

	w.interrupt()
	out := w.output()
	for _, want := range []string{"── run 2", "changed: src/a.txt", "changed: src/new/deeper/b.txt", "✓ run 1 ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestWatchCancels: a change stops the run in progress (its process
// group) and starts again at once.
func TestWatchCancels(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(t.TempDir(), "runs.log")
	testfs.Write(t, filepath.Join(dir, "Taskfile.toml"), fmt.Sprintf(`version = 1
[targets.slow]
sh = "echo start >> %[1]s; sleep 30; echo end >> %[1]s.end"
sources = ["*.txt"]
`, log))
	a := filepath.Join(dir, "a.txt")
	testfs.Write(t, a, "v1")
	w := startWatchNoWait(t, dir, "slow")
	expectRuns(t, w, log, 1, 0)
	testfs.Write(t, a, "v2")
	expectRuns(t, w, log, 2, 0)
	// In that order: the first run's command would have ended before the
	// second began had the change waited for it instead of stopping it.
	if n := countLines(log + ".end"); n != 0 {
		t.Fatalf("the second run started after the first finished its command: it was waited for, not stopped:\n%s", w.output())
	}
	w.waitOutput("■ run 1 stopped", time.Minute)
	// A stopped run failed nothing: its target is shown as stopped, with
	// no error chain.
	w.waitOutput("[slow] not run: stopped: sources changed", time.Minute)
	if out := w.output(); strings.Contains(out, "FAILED") || strings.Contains(out, "interrupted") {
		t.Errorf("a stopped run is shown as a failure:\n%s", out)
	}
	w.interrupt()
	if n := countLines(log + ".end"); n != 0 {
		t.Fatalf("%d runs finished their sleep: cancelled commands kept running", n)
	}
}

// startWatchNoWait starts dtask -w on a target whose first run does not
// end soon, so "ready" comes late.
func startWatchNoWait(t *testing.T, dir string, args ...string) *watchProc {
	t.Helper()
	var w *watchProc
	orig := readyText
	readyText = "── run 1"
	defer func() { readyText = orig }()
	w = startWatch(t, dir, args...)
	return w
}

var readyText = "ready"

// docker says whether the Docker tests run (internal/dockertest's rule).
var docker dockertest.Engine

// needDocker skips without an engine, except in CI where that is a failure.
func needDocker(t *testing.T) {
	t.Helper()
	docker.Need(t)
}

// dockerIDs lists the project's containers (running only, or all) and networks.
func dockerIDs(t *testing.T, taskfile string, kind string, all bool) []string {
	t.Helper()
	sum := sha256.Sum256([]byte(taskfile))
	args := []string{kind, "ls", "-q", "--filter", "label=dev.dtask.project=" + hex.EncodeToString(sum[:6])}
	if all {
		args = append(args, "-a")
	}
	b, err := exec.Command("docker", args...).Output()
	if err != nil {
		t.Fatalf("docker %v: %v", args, err)
	}
	return strings.Fields(string(b))
}

// removeLeftovers removes, when the test ends, the containers and
// networks dtask made for the project of taskfile, pass or fail.
func removeLeftovers(t *testing.T, taskfile string) {
	t.Cleanup(func() {
		for _, kind := range []string{"container", "network"} {
			for _, id := range dockerIDs(t, taskfile, kind, kind == "container") {
				_ = exec.Command("docker", kind, "rm", "-f", id).Run()
			}
		}
	})
}

// dockerProject writes a task file from body, its %s the path of a log
// the targets append to, for a test that needs Docker; what dtask leaves
// in the engine is removed when the test ends.
func dockerProject(t *testing.T, body string) (dir, taskfile, log string) {
	t.Helper()
	needDocker(t)
	dir = t.TempDir()
	taskfile = filepath.Join(dir, "Taskfile.toml")
	log = filepath.Join(t.TempDir(), "runs.log")
	testfs.Write(t, taskfile, fmt.Sprintf(body, log))
	removeLeftovers(t, taskfile)
	return dir, taskfile, log
}

func TestWatchRunWithService(t *testing.T) {
	dir, taskfile, log := dockerProject(t, `version = 1
[services.svc]
image = "busybox:latest"
cmd = ["sleep", "600"]

[targets.test]
services = ["svc"]
run = { image = "busybox:latest", cmd = ["sh", "-c", "ping -c1 -W2 svc >/dev/null && echo content=$(cat /src/a.txt)"], volumes = ["./src:/src:ro"] }

[targets.count]
deps = ["test"]
sh = "echo run >> %s"
`)
	a := filepath.Join(dir, "src/a.txt")
	testfs.Write(t, a, "v1")
	w := startWatch(t, dir, "count")
	expectRuns(t, w, log, 1, 0)
	w.waitOutput("content=v1", time.Minute)
	before := dockerIDs(t, taskfile, "container", false)
	if len(before) != 1 {
		t.Fatalf("running containers between runs: %v, want only the service", before)
	}

	testfs.Write(t, a, "v2")
	expectRuns(t, w, log, 2, 500*time.Millisecond)
	w.waitOutput("content=v2", time.Minute)
	after := dockerIDs(t, taskfile, "container", false)
	if len(after) != 1 || after[0] != before[0] {
		t.Fatalf("service container %v before the re-run, %v after: want the same", before, after)
	}

	// An editor's burst, then a touch.
	tmp := filepath.Join(dir, "src/a.txt~")
	testfs.Write(t, tmp, "v3")
	if err := os.Rename(tmp, a); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	testfs.Write(t, a, "v4")
	runs := expectSaveRuns(t, w, log, 3, 500*time.Millisecond)
	w.waitOutput("content=v4", time.Minute)
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(a, later, later); err != nil {
		t.Fatal(err)
	}
	expectRuns(t, w, log, runs, time.Second)
	testfs.Write(t, filepath.Join(dir, "src/n1/n2/new.txt"), "new")
	expectRuns(t, w, log, runs+1, 500*time.Millisecond)

	w.interrupt()
	if testing.Verbose() {
		t.Logf("dtask output:\n%s", w.output())
	}
	if left := dockerIDs(t, taskfile, "container", true); len(left) != 0 {
		t.Fatalf("containers left after SIGINT: %v", left)
	}
	if left := dockerIDs(t, taskfile, "network", false); len(left) != 0 {
		t.Fatalf("networks left after SIGINT: %v", left)
	}
}

// TestWatchReloadsTaskfile: an edited task file is used for the next run;
// one that no longer loads is reported and the previous one kept.
func TestWatchReloadsTaskfile(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(t.TempDir(), "runs.log")
	tf := filepath.Join(dir, "Taskfile.toml")
	body := `version = 1
[targets.t]
sh = "echo %s >> ` + log + `"
sources = ["*.txt"]
`
	testfs.Write(t, tf, fmt.Sprintf(body, "one"))
	testfs.Write(t, filepath.Join(dir, "a.txt"), "a")
	w := startWatch(t, dir, "t")
	expectRuns(t, w, log, 1, 0)
	testfs.Write(t, tf, fmt.Sprintf(body, "two"))
	expectRuns(t, w, log, 2, 300*time.Millisecond)
	testfs.Write(t, tf, "version = 1\n[targets.t]\nsh = \n")
	w.waitOutput("cannot be used", time.Minute)
	expectRuns(t, w, log, 2, 300*time.Millisecond)
	testfs.Write(t, filepath.Join(dir, "a.txt"), "b")
	expectRuns(t, w, log, 3, 300*time.Millisecond)
	b, _ := os.ReadFile(log)
	if got := string(b); got != "one\ntwo\ntwo\n" {
		t.Fatalf("runs printed %q, want one, then two twice", got)
	}
	w.interrupt()
}

// TestWatchCancelsContainer: a change stops the container of the run in
// progress before the next run starts it again; Ctrl-C removes the last.
func TestWatchCancelsContainer(t *testing.T) {
	dir, taskfile, log := dockerProject(t, `version = 1
[targets.mark]
sh = "echo run >> %s"
[targets.slow]
deps = ["mark"]
run = { image = "busybox:latest", cmd = ["sh", "-c", "echo started-$(cat /src/a.txt); sleep 60"], volumes = ["./src:/src:ro"] }
`)
	a := filepath.Join(dir, "src/a.txt")
	testfs.Write(t, a, "v1")
	readyText = "── run 1"
	defer func() { readyText = "ready" }()
	w := startWatch(t, dir, "slow")
	w.waitOutput("started-v1", 30*time.Second)
	testfs.Write(t, a, "v2")
	w.waitOutput("started-v2", 30*time.Second)
	expectRuns(t, w, log, 2, 0)
	if ids := dockerIDs(t, taskfile, "container", true); len(ids) != 1 {
		t.Fatalf("containers during run 2: %v, want only run 2's", ids)
	}
	w.interrupt()
	if testing.Verbose() {
		t.Logf("dtask output:\n%s", w.output())
	}
	if ids := dockerIDs(t, taskfile, "container", true); len(ids) != 0 {
		t.Fatalf("containers left after SIGINT: %v", ids)
	}
}

// buildCountProject writes a task file whose target count appends a line
// to log each time it runs, after a build of context (relative to dir)
// tagged under name; the image is removed when the test ends.
func buildCountProject(t *testing.T, context, name string) (dir, log string) {
	t.Helper()
	needDocker(t)
	dir = t.TempDir()
	log = filepath.Join(t.TempDir(), "runs.log")
	tag := "dtask-test/" + name + ":" + fmt.Sprint(time.Now().UnixNano())
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "-f", tag).Run() })
	testfs.Write(t, filepath.Join(dir, "Taskfile.toml"), fmt.Sprintf(`version = 1
[targets.image]
build = { context = %q, tags = [%q] }
[targets.count]
deps = ["image"]
sh = "echo run >> %s"
`, context, tag, log))
	return dir, log
}

// TestWatchBuildContext: a build context is watched as .dockerignore
// filters it.
func TestWatchBuildContext(t *testing.T) {
	dir, log := buildCountProject(t, "app", "watch-build")
	testfs.Write(t, filepath.Join(dir, "app/Dockerfile"), "FROM busybox:latest\nCOPY . /app\n")
	testfs.Write(t, filepath.Join(dir, "app/.dockerignore"), "*.log\ntmp/\n")
	testfs.Write(t, filepath.Join(dir, "app/main.txt"), "v1")
	w := startWatch(t, dir, "count")
	expectRuns(t, w, log, 1, 0)
	testfs.Write(t, filepath.Join(dir, "app/debug.log"), "ignored")
	testfs.Write(t, filepath.Join(dir, "app/tmp/x"), "ignored")
	testfs.Write(t, filepath.Join(dir, "notes.txt"), "outside the context")
	expectRuns(t, w, log, 1, time.Second)
	testfs.Write(t, filepath.Join(dir, "app/main.txt"), "v2")
	expectRuns(t, w, log, 2, 500*time.Millisecond)
	testfs.Write(t, filepath.Join(dir, "app/Dockerfile"), "FROM busybox:latest\nCOPY . /app/\n")
	expectRuns(t, w, log, 3, 500*time.Millisecond)
	w.interrupt()
}

// TestWatchRecoversAfterAFailure: the baseline is what the last run used,
// pass or fail — undoing a breaking edit runs again, and a touch after a
// failure runs nothing.
func TestWatchRecoversAfterAFailure(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(t.TempDir(), "runs.log")
	testfs.Write(t, filepath.Join(dir, "Taskfile.toml"), fmt.Sprintf(`version = 1
[targets.test]
sh = "echo run >> %s; grep -q good src/a.txt"
sources = ["src/**"]
`, log))
	a := filepath.Join(dir, "src/a.txt")
	testfs.Write(t, a, "good")
	w := startWatch(t, dir, "test")
	const settle = 400 * time.Millisecond
	expectRuns(t, w, log, 1, 0)
	testfs.Write(t, a, "bad")
	expectRuns(t, w, log, 2, settle)
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(a, later, later); err != nil {
		t.Fatal(err)
	}
	expectRuns(t, w, log, 2, settle)
	// Back to the content of the first, passing run: a run starts, and
	// the cache finds the target up to date.
	testfs.Write(t, a, "good")
	testwait.Until(30*time.Second, func() bool { return strings.Contains(w.output(), "run 3 ok") })
	if out := w.output(); !strings.Contains(out, "run 3 ok") || !strings.Contains(out, "1 cached") {
		t.Fatalf("undoing the breaking edit did not run again:\n%s", out)
	}
	expectRuns(t, w, log, 2, settle)
}

// TestWatchContextDot: a build context "." is watched in every folder,
// also ones made after the watch started.
func TestWatchContextDot(t *testing.T) {
	dir, log := buildCountProject(t, ".", "watch-dot")
	testfs.Write(t, filepath.Join(dir, "Dockerfile"), "FROM busybox:latest\nCOPY . /app\n")
	testfs.Write(t, filepath.Join(dir, ".dockerignore"), "**/*.log\n") // as docker: *.log alone is the top folder only
	testfs.Write(t, filepath.Join(dir, "src/pkg/main.txt"), "v1")
	w := startWatch(t, dir, "count")
	expectRuns(t, w, log, 1, 0)
	testfs.Write(t, filepath.Join(dir, "src/pkg/main.txt"), "v2")
	expectRuns(t, w, log, 2, 500*time.Millisecond)
	expectIgnored(t, w, log, 2, func() { testfs.Write(t, filepath.Join(dir, "src/pkg/debug.log"), "ignored") })
	testfs.Write(t, filepath.Join(dir, "lib/new/x.txt"), "new folder")
	expectRuns(t, w, log, 3, 500*time.Millisecond)
	w.interrupt()
}

// TestWatchServiceVolume: what a service of the target mounts is a source
// of the target: editing it runs the target again.
func TestWatchServiceVolume(t *testing.T) {
	dir, _, log := dockerProject(t, `version = 1
[services.svc]
image = "busybox:latest"
cmd = ["sleep", "600"]
volumes = ["./seed:/seed:ro"]

[targets.test]
services = ["svc"]
run = { image = "busybox:latest", cmd = ["true"] }

[targets.count]
deps = ["test"]
sh = "echo run >> %s"
`)
	testfs.Write(t, filepath.Join(dir, "seed/sql/schema.sql"), "v1")
	w := startWatch(t, dir, "count")
	expectRuns(t, w, log, 1, 0)
	testfs.Write(t, filepath.Join(dir, "seed/sql/schema.sql"), "v2")
	expectRuns(t, w, log, 2, 500*time.Millisecond)
	expectIgnored(t, w, log, 2, func() { testfs.Write(t, filepath.Join(dir, "unrelated.txt"), "x") })
	w.interrupt()
}

// TestWatchRerunsWhatTheChangeFeeds: a change to a file feeding A runs A
// again and leaves B, which that file does not feed, as it was; an edit
// of the task file plans every target again, so B's new command runs.
func TestWatchRerunsWhatTheChangeFeeds(t *testing.T) {
	dir := t.TempDir()
	logs := t.TempDir()
	la, lb := filepath.Join(logs, "a.log"), filepath.Join(logs, "b.log")
	taskfile := func(bcmd string) string {
		return fmt.Sprintf(`version = 1
[targets.a]
sh = "echo a >> %s"
sources = ["a/**"]
[targets.b]
sh = "echo %s >> %s"
sources = ["b/**"]
[targets.all]
deps = ["a", "b"]
`, la, bcmd, lb)
	}
	testfs.Write(t, filepath.Join(dir, "Taskfile.toml"), taskfile("b"))
	testfs.Write(t, filepath.Join(dir, "a/x.txt"), "1")
	testfs.Write(t, filepath.Join(dir, "b/y.txt"), "1")
	w := startWatch(t, dir, "all")
	const settle = 400 * time.Millisecond
	expectRuns(t, w, la, 1, 0)
	expectRuns(t, w, lb, 1, 0)

	testfs.Write(t, filepath.Join(dir, "a/x.txt"), "2")
	expectRuns(t, w, la, 2, settle)
	w.waitOutput("✓ run 2 ok", 60*time.Second)
	if n := countLines(lb); n != 1 {
		t.Fatalf("b ran %d times after a change that feeds only a:\n%s", n, w.output())
	}
	testfs.Write(t, filepath.Join(dir, "b/y.txt"), "2")
	expectRuns(t, w, lb, 2, settle)
	if n := countLines(la); n != 2 {
		t.Fatalf("a ran %d times after a change that feeds only b:\n%s", n, w.output())
	}

	testfs.Write(t, filepath.Join(dir, "Taskfile.toml"), taskfile("b2"))
	expectRuns(t, w, lb, 3, settle)
	if b, _ := os.ReadFile(lb); !strings.HasSuffix(string(b), "b2\n") {
		t.Fatalf("after the task file changed b's command, b.log is %q:\n%s", b, w.output())
	}
	if n := countLines(la); n != 2 {
		t.Fatalf("a ran %d times after the task file changed only b:\n%s", n, w.output())
	}
}
