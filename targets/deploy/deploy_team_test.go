package deploy

import (
	"context"
	"crypto/rand"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/internal/dockertest"
	"github.com/dtask-dev/dtask/internal/remotecache"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/imagecache"
	"github.com/dtask-dev/dtask/targets/targettest"
)

// TestDeployOverSSHSendsOnlyTheMissingLayer deploys an image to a second,
// empty engine through ssh://, then an image that differs from it by one
// 4 MB layer: with a team cache (the deploy engine pulls from it) and
// without (it pulls from this machine through a reverse tunnel of the ssh
// connection). Everything the deploy engine receives for the second
// deploy (the ssh connections' bytes, both ways, and what it pulls from
// the team cache) is at most 1.2x that layer.
func TestDeployOverSSHSendsOnlyTheMissingLayer(t *testing.T) {
	for _, team := range []bool{true, false} {
		name := map[bool]string{true: "team cache", false: "tunnel"}[team]
		t.Run(name, func(t *testing.T) { dpOneLayerDeploy(t, team) })
	}
}

func dpOneLayerDeploy(t *testing.T, team bool) {
	e, cli := dpEnv(t)
	ctx := context.Background()
	served := &atomic.Int64{}
	regHost := dpCountingRegistry(t, served)
	lines := &targettest.SyncBuffer{}
	if team {
		lines = dpTeamCache(t, e, regHost+"/team/deploy")
	}
	d2host := dpSecondEngine(t, cli)
	d2, err := docker.ConnectHost(ctx, d2host) // not through ssh: not counted
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d2.Close() })
	sshBytes := &atomic.Int64{}
	host := dpCountingProxy(t, dpSSHServer(t, d2host), sshBytes)
	v1, v2, layer := dpOneLayerChange(t, 4<<20)

	name := dpName(t, func() *docker.Client {
		c, err := docker.ConnectHost(context.Background(), host)
		if err != nil {
			return nil
		}
		return c
	})
	port := dpFreePort(t)
	tg := dpTarget(e, name, v1, host, port, 30*time.Second)
	x, out, _, prog := targettest.Exec(tg)
	if _, err := New(e, tg).Run(ctx, x); err != nil {
		t.Fatalf("first deploy: %v\nprogress:\n%s", err, prog)
	}
	t.Logf("first deploy (the whole image): %d bytes over ssh, %d pulled from the team cache\n%s%s", sshBytes.Load(), served.Load(), lines, out)

	tg.Deploy.Image = v2
	sshBytes.Store(0)
	served.Store(0)
	before := lines.String()
	x, out, _, prog = targettest.Exec(tg)
	if _, err := New(e, tg).Run(ctx, x); err != nil {
		t.Fatalf("second deploy: %v\nprogress:\n%s", err, prog)
	}
	if body, err := dpGet(port, "/version"); body != "v2" {
		t.Fatalf("GET /version after the second deploy: %q %v", body, err)
	}
	dpRunsImage(t, cli, d2, name, v2)
	total := sshBytes.Load() + served.Load()
	ratio := float64(total) / float64(layer)
	t.Logf("second deploy (deploy engine's image store: %s): %d bytes over ssh + %d pulled from the team cache = %.3fx the %d-byte layer",
		dpStore(t, d2), sshBytes.Load(), served.Load(), ratio, layer)
	if ratio > 1.2 {
		t.Errorf("the deploy engine received %.2fx the changed layer, want <= 1.2x\nprogress:\n%s", ratio, prog)
	}
	if strings.Contains(prog.String(), "copying") {
		t.Errorf("the whole image was copied:\n%s\n%s", prog, out)
	}
	// The pull is one summary line, as plain and CI output show it.
	from, got := regexp.QuoteMeta(regHost)+"/team/deploy", strings.TrimPrefix(lines.String(), before)
	if !team {
		from, got = "this machine over ssh", out.String()
	}
	pulled := regexp.MustCompile(`(?m)^pulled 1 layer, 4\.0 MB from ` + from + ` in [0-9.]+m?s \(image [0-9a-f]{12}\)$`)
	if len(pulled.FindAllString(got, -1)) != 1 {
		t.Errorf("the second deploy's lines:\n%s\nwant one matching %s", got, pulled)
	}
}

// TestDeployAcrossImageStores deploys through a team cache to a second
// engine with the other image store (classic or containerd's) an image,
// then one that differs from it by one 4 MB layer: the second time the
// deploy engine pulls only that layer, and it runs the image. The image
// IDs differ between the stores; the deploy checks the image by content.
func TestDeployAcrossImageStores(t *testing.T) {
	e, cli := dpEnv(t)
	ctx := context.Background()
	served := &atomic.Int64{}
	dpTeamCache(t, e, dpCountingRegistry(t, served)+"/team/across")
	cfg := `{"features": {"containerd-snapshotter": true}, "mtu": 1400}`
	if dpContainerdStore(t, cli) {
		cfg = `{"storage-driver": "overlay2", "mtu": 1400}`
	}
	host := dpSecondEngineWith(t, cfg)
	d2, err := docker.ConnectHost(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d2.Close() })
	if dpContainerdStore(t, cli) == dpContainerdStore(t, d2) {
		t.Skipf("this dockerd has only the %s image store", dpStore(t, d2))
	}
	v1, v2, layer := dpOneLayerChange(t, 4<<20)
	name := dpName(t, func() *docker.Client { return d2 })
	port := dpFreePort(t)
	tg := dpTarget(e, name, v1, host, port, 30*time.Second)
	for _, v := range []string{v1, v2} {
		tg.Deploy.Image = v
		served.Store(0)
		x, _, _, prog := targettest.Exec(tg)
		out, err := New(e, tg).Run(ctx, x)
		if err != nil {
			t.Fatalf("deploy of %s: %v\nprogress:\n%s", v, err, prog)
		}
		dpRunsImage(t, cli, d2, name, v)
		if there, _ := targets.ImageID(ctx, d2, v); out["image_id"] != there {
			t.Errorf("outputs %v: image_id want %s, the deploy engine's", out, there)
		}
		if strings.Contains(prog.String(), "copying") {
			t.Errorf("the whole image was copied:\n%s", prog)
		}
	}
	ratio := float64(served.Load()) / float64(layer)
	t.Logf("second deploy from a %s engine to a %s one: %d bytes pulled = %.3fx the %d-byte layer", dpStore(t, cli), dpStore(t, d2), served.Load(), ratio, layer)
	if ratio > 1.2 {
		t.Errorf("the deploy engine pulled %.2fx the changed layer, want <= 1.2x", ratio)
	}
	if body, err := dpGet(port, "/version"); body != "v2" {
		t.Errorf("GET /version: %q %v", body, err)
	}
}

// TestDeployRefusesAnImageItDidNotMean deploys to a second, empty engine
// with a team cache whose image for v1 is forged (it holds v2): the deploy
// engine pulls it, dtask refuses it (on either image store) and copies v1,
// which the container runs. Then the local tag names another image than
// the one the deploy engine has under it: that one is sent, not reused.
func TestDeployRefusesAnImageItDidNotMean(t *testing.T) {
	e, cli := dpEnv(t)
	ctx := context.Background()
	v1, v2 := dpImage(t, "v1", false), dpImage(t, "v2", false)
	id1, _ := targets.ImageID(ctx, cli, v1)
	id2, _ := targets.ImageID(ctx, cli, v2)
	repo := dpCountingRegistry(t, &atomic.Int64{}) + "/team/forged"
	reg, err := remotecache.Open(remotecache.Config{Repo: repo, PlainHTTP: true, Mode: remotecache.ModeReadWrite})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.WriteImage(ctx, e, id2, remotecache.ImageTag(id1)); err != nil {
		t.Fatal(err)
	}
	dpTeamCache(t, e, repo)
	host := dpSecondEngine(t, cli)
	d2, err := docker.ConnectHost(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d2.Close() })
	name := dpName(t, func() *docker.Client { return d2 })
	port := dpFreePort(t)
	tg := dpTarget(e, name, v1, host, port, 20*time.Second)
	x, _, _, prog := targettest.Exec(tg)
	if _, err := New(e, tg).Run(ctx, x); err != nil {
		t.Fatalf("deploy: %v\nprogress:\n%s", err, prog)
	}
	if body, err := dpGet(port, "/version"); body != "v1" {
		t.Errorf("GET /version: %q %v, want v1 (the forged image runs)\nprogress:\n%s", body, err, prog)
	}
	if !strings.Contains(prog.String(), "refused") || !strings.Contains(prog.String(), "copying") {
		t.Errorf("the forged image was not refused, then the image copied:\n%s", prog)
	}
	dpRunsImage(t, cli, d2, name, v1)

	if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: id2, Target: v1}); err != nil {
		t.Fatal(err)
	}
	x, _, _, prog = targettest.Exec(tg)
	if _, err := New(e, tg).Run(ctx, x); err != nil {
		t.Fatalf("deploy after retagging: %v\nprogress:\n%s", err, prog)
	}
	if body, err := dpGet(port, "/version"); body != "v2" {
		t.Errorf("GET /version after %s names v2: %q %v\nprogress:\n%s", v1, body, err, prog)
	}
	dpRunsImage(t, cli, d2, name, v1)
}

// dpCountingRegistry serves the distribution API in memory on loopback
// (an engine pulls from it over plain HTTP) and counts the bytes of the
// blobs it serves.
func dpCountingRegistry(t *testing.T, served *atomic.Int64) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			w = &countingResponse{ResponseWriter: w, n: served}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

type countingResponse struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingResponse) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// dpTeamCache gives e a team cache in repo (readwrite, no local records)
// and returns the lines it prints.
func dpTeamCache(t *testing.T, e *targets.Env, repo string) *targettest.SyncBuffer {
	t.Helper()
	local, err := cache.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg, err := remotecache.Open(remotecache.Config{Repo: repo, PlainHTTP: true, Mode: remotecache.ModeReadWrite})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	lines := &targettest.SyncBuffer{}
	tier := remotecache.NewTier(ctx, local, reg, remotecache.ModeReadWrite, e, func(s string) { lines.Write([]byte(s + "\n")) })
	e.UseTeamCache(tier)
	t.Cleanup(func() {
		tier.Wait()
		cancel()
		e.UseTeamCache(nil)
	})
	return lines
}

// dpCountingProxy forwards a loopback port to the ssh:// host's sshd and
// counts the bytes crossing it both ways; it returns the ssh:// host that
// goes through it.
func dpCountingProxy(t *testing.T, sshHost string, n *atomic.Int64) string {
	t.Helper()
	user, addr, _ := strings.Cut(strings.TrimPrefix(sshHost, "ssh://"), "@")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", addr)
			if err != nil {
				in.Close()
				continue
			}
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				c, _ := io.Copy(dst, src)
				n.Add(c)
				dst.Close()
				src.Close()
			}
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
	return "ssh://" + user + "@" + l.Addr().String()
}

// dpOneLayerChange builds two images (classic builder, from busybox) that
// serve /version over HTTP and differ only in their last layer (the
// version and size random bytes); it returns their tags and that layer's
// size.
func dpOneLayerChange(t *testing.T, size int) (v1, v2 string, layer int64) {
	t.Helper()
	dockertest.Images(t, "busybox:latest")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.MkdirAll(filepath.Join(dir, "payload"), 0o755)
	os.WriteFile(filepath.Join(dir, "www", "health"), []byte("ok\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox:latest\nCOPY www /www\nCOPY payload /www\n"+
		"CMD [\"httpd\", \"-f\", \"-p\", \"3000\", \"-h\", \"/www\"]\n"), 0o644)
	suffix := targettest.RandHex(4)
	var tags []string
	for _, v := range []string{"v1", "v2"} {
		data := make([]byte, size)
		rand.Read(data)
		os.WriteFile(filepath.Join(dir, "payload", "data.bin"), data, 0o644)
		os.WriteFile(filepath.Join(dir, "payload", "version"), []byte(v+"\n"), 0o644)
		tag := "dtask-test/deploy-layers:" + v + "-" + suffix
		cmd := exec.Command("docker", "build", "-q", "-t", tag, dir)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", tag, err, out)
		}
		t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
		tags = append(tags, tag)
	}
	return tags[0], tags[1], int64(size)
}

// dpRunsImage checks that container name on engine d2 runs image ref of
// engine local: the same layers and configuration, whatever ID each
// engine's image store gives it. A containerd-store engine that pulled an
// image without some blobs (it had their layers, from blobs compressed
// otherwise) reports nothing of it: then the container's image must be
// the one ref names there (the deploy checked it).
func dpRunsImage(t *testing.T, local, d2 *docker.Client, name, ref string) {
	t.Helper()
	ctx := context.Background()
	res, err := d2.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := targets.ImageContent(ctx, local, ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := targets.ImageContent(ctx, d2, res.Container.Image)
	if err != nil {
		t.Fatal(err)
	}
	if there, _ := targets.ImageID(ctx, d2, ref); strings.Contains(string(got), `"Layers":null`) && res.Container.Image == there {
		t.Logf("the deploy engine does not report image %s (%s): checked by ID", ref, there)
		return
	}
	if string(got) != string(want) {
		t.Errorf("container %s runs image %s:\n%s\nwant %s:\n%s", name, res.Container.Image, got, ref, want)
	}
}

// dpStore names the image store of the engine cli talks to.
func dpStore(t *testing.T, cli *docker.Client) string {
	if dpContainerdStore(t, cli) {
		return "containerd"
	}
	return "classic"
}

// dpContainerdStore says whether the engine cli talks to keeps images in
// the containerd image store.
func dpContainerdStore(t *testing.T, cli *docker.Client) bool {
	t.Helper()
	res, err := cli.Info(context.Background(), client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return imagecache.DetectStore(res.Info) == imagecache.StoreContainerd
}
