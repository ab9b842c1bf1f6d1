package deploy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/dockertest"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/targettest"
)

// dpNeed fails in CI and skips elsewhere: what a deploy test needs
// from the machine (root, dockerd, sshd) is missing.
func dpNeed(t *testing.T, format string, args ...any) {
	t.Helper()
	dockertest.Need(t, fmt.Sprintf(format, args...), "run as root with dockerd, sshd and ip installed (make test-deps)")
}

// dpImage builds, from busybox, an image whose httpd serves /health
// and /version (= version) on port 3000, and returns its tag; removed at
// the end of the test. broken=true makes one whose server never answers.
func dpImage(t *testing.T, version string, broken bool) string {
	t.Helper()
	dockertest.Images(t, "busybox:latest")
	dir := t.TempDir()
	tag := "dtask-test/deploy-good:" + version + "-" + targettest.RandHex(4)
	df := "FROM busybox:latest\nCOPY www /www\nCMD [\"httpd\", \"-f\", \"-p\", \"3000\", \"-h\", \"/www\"]\n"
	if broken {
		tag = "dtask-test/deploy-broken:" + version + "-" + targettest.RandHex(4)
		df = "FROM busybox:latest\nCOPY www /www\n" +
			`CMD ["sh", "-c", "echo broken server starting; echo cannot open the database >&2; exec sleep 3600"]` + "\n"
	}
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "www", "health"), []byte("ok\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "www", "version"), []byte(version+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644)
	cmd := exec.Command("docker", "build", "-q", "-t", tag, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", tag, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

// dpFreePort returns a tcp port nothing listens on right now.
func dpFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// dpName returns a fresh container name; whatever carries it (or its
// set-aside form) on cli's engine is removed when the test ends.
func dpName(t *testing.T, cli func() *docker.Client) string {
	t.Helper()
	name := "dtask-test-deploy-" + targettest.RandHex(4)
	t.Cleanup(func() {
		c := cli()
		if c == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		f := client.Filters{}.Add("name", name)
		res, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
		if err != nil {
			t.Logf("listing %s: %v", name, err)
			return
		}
		for _, ct := range res.Items {
			_, _ = c.ContainerRemove(ctx, ct.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
	})
	return name
}

// dpTarget makes a deploy target serving image on host port port.
func dpTarget(e *targets.Env, name, image, host string, port int, timeout time.Duration) *taskfile.Target {
	tg := &taskfile.Target{Name: "deploy-" + name, Deploy: &taskfile.Deploy{
		Host:  host,
		Image: image,
		Name:  name,
		Env:   map[string]string{"APP_MODE": "test"},
		Ports: []string{fmt.Sprintf("%d:3000", port)},
		Ready: &taskfile.Ready{
			HTTP:     fmt.Sprintf("http://127.0.0.1:%d/health", port),
			Timeout:  taskfile.Duration{Duration: timeout},
			Interval: taskfile.Duration{Duration: 100 * time.Millisecond},
		},
	}}
	e.File.Targets[tg.Name] = tg
	return tg
}

// dpGet fetches path from the published port and returns the body, or "" and
// the error.
func dpGet(port int, path string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("HTTP %s", resp.Status)
	}
	return strings.TrimSpace(string(b)), err
}

// dpInspect inspects the container called name.
func dpInspect(t *testing.T, cli *docker.Client, name string) client.ContainerInspectResult {
	t.Helper()
	res, err := cli.ContainerInspect(context.Background(), name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspecting %s: %v", name, err)
	}
	return res
}

// dpCount counts the containers whose name contains name.
func dpCount(t *testing.T, cli *docker.Client, name string) int {
	t.Helper()
	f := client.Filters{}.Add("name", name)
	res, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Items)
}

// dpSecondEngine starts a second dockerd with its own data root (so it has
// no images), its own bridge (so ports can be published) and no iptables
// rules, and returns its DOCKER_HOST. It is stopped and its files removed
// when the test ends.
func dpSecondEngine(t *testing.T, main *docker.Client) string {
	t.Helper()
	info, err := main.Info(context.Background(), client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return dpSecondEngineWith(t, dpSecondConfig(info.Info.Driver, info.Info.DriverStatus))
}

// dpSecondEngineWith is dpSecondEngine with cfg as the daemon.json.
func dpSecondEngineWith(t *testing.T, cfg string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		dpNeed(t, "a second dockerd needs root")
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		dpNeed(t, "no dockerd to start a second engine: %v", err)
	}
	dir, err := os.MkdirTemp("/tmp", "dtask-d2-")
	if err != nil {
		t.Fatal(err)
	}
	br := "dtd2" + targettest.RandHex(4)
	ip := fmt.Sprintf("10.213.%d.1/24", 1+time.Now().UnixNano()%250)
	for _, args := range [][]string{{"link", "add", br, "type", "bridge"}, {"addr", "add", ip, "dev", br}, {"link", "set", br, "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			_ = exec.Command("ip", "link", "del", br).Run()
			dpNeed(t, "cannot make a bridge for a second dockerd: ip %v: %v %s", args, err, out)
		}
	}
	os.WriteFile(filepath.Join(dir, "daemon.json"), []byte(cfg), 0o644)
	sock := filepath.Join(dir, "docker.sock")
	logf, _ := os.Create(filepath.Join(dir, "dockerd.log"))
	cmd := exec.Command(dockerd, "--config-file", filepath.Join(dir, "daemon.json"),
		"--host", "unix://"+sock, "--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"), "--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--bridge", br, "--iptables=false", "--ip-masq=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dockerd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			t.Errorf("second dockerd did not stop in 20s; killing it")
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
		_ = exec.Command("ip", "link", "del", br).Run()
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	host := "unix://" + sock
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := docker.ConnectHost(ctx, host)
		cancel()
		if err == nil {
			c.Close()
			return host
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "dockerd.log"))
			t.Fatalf("second dockerd not up after 30s: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dpSecondConfig is the second engine's daemon.json: the main engine's
// image store (containerd's, or its graph driver, the one known to work
// here); the main engine's own daemon.json must not be read (it names the
// main data root). The dockerd started is the first on PATH: make
// test-engines puts the engine under test's folder first.
func dpSecondConfig(driver string, status [][2]string) string {
	for _, kv := range status {
		if kv[0] == "driver-type" && strings.Contains(kv[1], "snapshotter") {
			return `{"features": {"containerd-snapshotter": true}, "mtu": 1400}`
		}
	}
	return fmt.Sprintf(`{"storage-driver": %q, "mtu": 1400}`, driver)
}

// dpSSHServer starts sshd on a free loopback port, with a throwaway host key
// and an authorized key, whose sessions see DOCKER_HOST=dockerHost, and
// puts an ssh wrapper first in PATH that uses a private client config
// (ssh reads ~/.ssh from the password database, not $HOME). It returns the
// ssh:// DOCKER_HOST to reach it.
func dpSSHServer(t *testing.T, dockerHost string) string {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(sshd); err != nil || os.Geteuid() != 0 {
		dpNeed(t, "no sshd to run as root here (apt-get install openssh-server): %v", err)
	}
	realSSH, err := exec.LookPath("ssh")
	if err != nil {
		dpNeed(t, "no ssh client: %v", err)
	}
	dir, err := os.MkdirTemp("/tmp", "dtask-ssh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, k := range []string{"hostkey", "id"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "id.pub"))
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	port := dpFreePort(t)
	conf := fmt.Sprintf(`ListenAddress 127.0.0.1:%d
HostKey %[2]s/hostkey
AuthorizedKeysFile %[2]s/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
# Each engine API call is an ssh connection; on a loaded machine more than
# sshd's default 10 handshakes at once get dropped at random.
MaxStartups 200
LoginGraceTime 300
PidFile %[2]s/sshd.pid
SetEnv DOCKER_HOST=%[3]s
`, port, dir, dockerHost)
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(conf), 0o600)
	// sshd's privilege separation folder. Made when missing and never
	// removed: the engine matrix runs this package's tests on three engines
	// at once, and removing it under another test's sshd makes that sshd
	// drop every connection ("kex_exchange_identification: Connection
	// closed by remote host").
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("sshd's privilege separation folder: %v", err)
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	logf, _ := os.Create(filepath.Join(dir, "sshd.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sshd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logf.Close()
	})
	clientConf := fmt.Sprintf("Host *\n  IdentityFile %[1]s/id\n  IdentitiesOnly yes\n"+
		"  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  LogLevel ERROR\n", dir)
	os.WriteFile(filepath.Join(dir, "ssh_config"), []byte(clientConf), 0o600)
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s -F %s/ssh_config \"$@\"\n", realSSH, dir)
	os.WriteFile(filepath.Join(bin, "ssh"), []byte(wrapper), 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
			t.Fatalf("sshd not listening on %s after 10s:\n%s", addr, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "ssh://root@" + addr
}
