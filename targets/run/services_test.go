package run

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
)

func dur(d time.Duration) taskfile.Duration { return taskfile.Duration{Duration: d} }

func addService(e *targets.Env, s *taskfile.Service) { e.File.Services[s.Name] = s }

func TestServiceRedisReachableByName(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	needImage(t, "redis:7")
	addService(e, &taskfile.Service{Name: "cache", Image: "redis:7", Ready: &taskfile.Ready{TCP: 6379}})
	out, errOut, err := runTarget(t, context.Background(), e, &taskfile.Target{
		Name:     "ping",
		Services: []string{"cache"},
		Run:      &taskfile.Run{Image: "redis:7", Cmd: []string{"redis-cli", "-h", "cache", "ping"}},
	})
	if err != nil {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
	if strings.TrimSpace(out) != "PONG" {
		t.Errorf("stdout = %q, want PONG", out)
	}
	wantObjects(t, e, 0, 0, "left after the target")
}

func TestServiceMariaDBReadyCmdAndInit(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	needImage(t, "mariadb:10.11")
	seed := filepath.Join(e.File.Dir, "scripts")
	if err := os.MkdirAll(seed, 0o777); err != nil {
		t.Fatal(err)
	}
	schema := "CREATE DATABASE shop; CREATE TABLE shop.items (name VARCHAR(20)); INSERT INTO shop.items VALUES ('apple'), ('pear');\n"
	if err := os.WriteFile(filepath.Join(seed, "schema.sql"), []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	addService(e, &taskfile.Service{
		Name:    "db",
		Image:   "mariadb:10.11",
		Env:     map[string]string{"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "1"},
		Ready:   &taskfile.Ready{Cmd: "mariadb-admin ping -h 127.0.0.1", Timeout: dur(90 * time.Second)},
		Init:    []string{"mariadb -uroot < /seed/schema.sql"},
		Volumes: []string{"./scripts:/seed:ro"},
	})
	start := time.Now()
	out, errOut, err := runTarget(t, context.Background(), e, &taskfile.Target{
		Name:     "query",
		Services: []string{"db"},
		Run: &taskfile.Run{Image: "mariadb:10.11",
			Cmd: []string{"mariadb", "-h", "db", "-uroot", "-N", "-e", "SELECT name FROM shop.items ORDER BY name"}},
	})
	if err != nil {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
	if out != "apple\npear\n" {
		t.Errorf("stdout = %q", out)
	}
	t.Logf("mariadb service up, seeded and queried in %v", time.Since(start))
	wantObjects(t, e, 0, 0, "left after the target")
}

func TestServiceReadyTimeoutNamesServiceAndLastOutput(t *testing.T) {
	t.Parallel()
	e := busyboxEnv(t)
	addService(e, &taskfile.Service{
		Name:  "slow",
		Image: "busybox:latest",
		Cmd:   []string{"sleep", "3600"},
		Ready: &taskfile.Ready{Cmd: "echo Probe-says-no; exit 1", Timeout: dur(time.Second)},
	})
	// The ready timeout, not this deadline, must end the wait: the error
	// says so. (No wall-time bound: at load 20-30 one flaked.)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, _, err := runTarget(t, ctx, e, trueTarget("t", "slow"))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"service slow not ready after 1s", "Probe-says-no", "exit code 1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	wantObjects(t, e, 0, 0, "left after the target")
}

func TestServiceReadyTCPAndHTTPInsideTheNetwork(t *testing.T) {
	t.Parallel()
	e := busyboxEnv(t)
	web := `mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www`
	addService(e, &taskfile.Service{Name: "web", Image: "busybox:latest", Cmd: []string{"sh", "-c", "sleep 1; " + web},
		Ready: &taskfile.Ready{TCP: 8080, Timeout: dur(20 * time.Second)}})
	addService(e, &taskfile.Service{Name: "web2", Image: "busybox:latest", Cmd: []string{"sh", "-c", web},
		Ready: &taskfile.Ready{HTTP: "http://127.0.0.1:8080/index.html", Timeout: dur(20 * time.Second)}})
	addService(e, &taskfile.Service{Name: "closed", Image: "busybox:latest", Cmd: []string{"sleep", "3600"},
		Ready: &taskfile.Ready{TCP: 9999, Timeout: dur(time.Second)}})
	out, errOut, err := runTarget(t, context.Background(), e, &taskfile.Target{
		Name: "get", Services: []string{"web", "web2"},
		Run: &taskfile.Run{Image: "busybox:latest", Cmd: []string{"sh", "-c", "wget -q -O- http://web:8080/ && wget -q -O- http://web2:8080/"}},
	})
	if err != nil {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
	if out != "hello-from-web\nhello-from-web\n" {
		t.Errorf("stdout = %q", out)
	}
	_, _, err = runTarget(t, context.Background(), e, trueTarget("closed", "closed"))
	if err == nil || !strings.Contains(err.Error(), "service closed not ready") || !strings.Contains(err.Error(), "nothing listens on port 9999") {
		t.Errorf("tcp timeout error = %v", err)
	}
	wantObjects(t, e, 0, 0, "left after the targets")
}

func TestServiceExitingBeforeReadyFailsFastWithItsOutput(t *testing.T) {
	t.Parallel()
	e := busyboxEnv(t)
	addService(e, &taskfile.Service{Name: "crash", Image: "busybox:latest",
		Cmd:   []string{"sh", "-c", "echo crashing-now; exit 4"},
		Ready: &taskfile.Ready{TCP: 80, Timeout: dur(time.Hour)}})
	// A wait for the ready timeout would end at this deadline instead, with
	// the context's error: the exit's error says the exit ended the wait.
	// (No wall-time bound: at load 20-30 one flaked.)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, _, err := runTarget(t, ctx, e, trueTarget("t", "crash"))
	if err == nil || !strings.Contains(err.Error(), "service crash exited with code 4") || !strings.Contains(err.Error(), "crashing-now") {
		t.Fatalf("err = %v", err)
	}
}

func TestServiceInitFailureShowsOutput(t *testing.T) {
	t.Parallel()
	e := busyboxEnv(t)
	addService(e, &taskfile.Service{Name: "svc", Image: "busybox:latest", Cmd: []string{"sleep", "3600"},
		Init: []string{"echo first-ok", "echo init-broke >&2; exit 7"}})
	_, _, err := runTarget(t, context.Background(), e, trueTarget("t", "svc"))
	if err == nil || !strings.Contains(err.Error(), `service svc: init "echo init-broke >&2; exit 7" exited with code 7`) ||
		!strings.Contains(err.Error(), "init-broke") {
		t.Fatalf("err = %v", err)
	}
	wantObjects(t, e, 0, 0, "left")
}

func TestSharedServicePoolKeepsServicesAcrossRuns(t *testing.T) {
	t.Parallel()
	e := busyboxEnv(t)
	addService(e, &taskfile.Service{Name: "svc", Image: "busybox:latest", Cmd: []string{"sh", "-c", "date +%s%N > /tmp/started; sleep 3600"}})
	pool := NewServicePool(e)
	tg := trueTarget("t", "svc")
	e.File.Targets["t"] = tg
	ctx := context.Background()
	for i := range 2 {
		x, _ := pooledExec(tg, pool)
		if _, err := New(e, tg).Run(ctx, x); err != nil {
			t.Fatal(err)
		}
		if c, n := projectObjects(t, e); c != 1 || n != 1 {
			t.Fatalf("after run %d: %d containers, %d networks; want the service and its network kept", i, c, n)
		}
	}
	first := pool.running["svc"].id
	// A changed definition replaces the service.
	e.File.Services["svc"].Env = map[string]string{"X": "1"}
	x, _ := pooledExec(tg, pool)
	if _, err := New(e, tg).Run(ctx, x); err != nil {
		t.Fatal(err)
	}
	if pool.running["svc"].id == first {
		t.Error("service kept although its definition changed")
	}
	if c, _ := projectObjects(t, e); c != 1 {
		t.Errorf("%d containers after replacing the service", c)
	}
	// Ctrl-C path: Cleanup removes the shared services too.
	if err := e.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	wantObjects(t, e, 0, 0, "after Cleanup")
}

// TestServiceReadyWithoutShellFallsBackToTheHost uses an image with no sh
// (scratch + one static binary): the in-container probes cannot run, so
// tcp and http are checked from this host against the container's address.
func TestServiceReadyWithoutShellFallsBackToTheHost(t *testing.T) {
	t.Parallel()
	e := busyboxEnv(t)
	img := "dtask-test/nosh-" + randHex(4) + ":latest"
	// No RUN step: the page comes from the context. The containerd
	// store's classic builder, which the docker CLI without buildx uses,
	// once failed a RUN on busybox with "unable to find image" while the
	// other packages' tests ran on the same engine.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("served\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox:latest AS bb\n"+
		"FROM scratch\nCOPY --from=bb /bin/busybox /busybox\nCOPY index.html /www/index.html\n"+
		`CMD ["/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]`+"\n"), 0o644)
	cmd := exec.Command("docker", "build", "-q", "-t", img, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", img, err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", img).Run() })
	addService(e, &taskfile.Service{Name: "tcp", Image: img, Ready: &taskfile.Ready{TCP: 8080, Timeout: dur(20 * time.Second)}})
	addService(e, &taskfile.Service{Name: "http", Image: img, Ready: &taskfile.Ready{HTTP: "http://http:8080/index.html", Timeout: dur(20 * time.Second)}})
	out, errOut, err := runTarget(t, context.Background(), e, &taskfile.Target{
		Name: "get", Services: []string{"tcp", "http"},
		Run: &taskfile.Run{Image: "busybox:latest", Cmd: []string{"wget", "-q", "-O-", "http://tcp:8080/", "http://http:8080/"}},
	})
	if err != nil {
		t.Fatalf("%v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
	if out != "served\nserved\n" {
		t.Errorf("stdout = %q", out)
	}
}

// A compose healthcheck whose interval is long (Docker's default is 30s):
// the engine would first run it an interval after the start, but its
// command already passes, so the service is ready at once.
func TestServiceHealthcheckCommandPassingIsReadyBeforeTheEngineChecks(t *testing.T) {
	t.Parallel()
	e := testEnv(t)
	needImage(t, "busybox:latest")
	addService(e, &taskfile.Service{Name: "slowcheck", Image: "busybox:latest", Cmd: []string{"sleep", "3600"},
		Health: &taskfile.Health{Test: []string{"CMD-SHELL", "test -d /tmp"}, Interval: dur(time.Hour), Retries: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	out, errOut, err := runTarget(t, ctx, e, &taskfile.Target{Name: "t", Services: []string{"slowcheck"},
		Run: &taskfile.Run{Image: "busybox:latest", Cmd: []string{"true"}}})
	if err != nil {
		t.Fatalf("%v after %s\nstdout: %s\nstderr: %s", err, time.Since(start), out, errOut)
	}
}
