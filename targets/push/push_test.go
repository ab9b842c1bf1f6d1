package push

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/internal/dockertest"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/registryauth"
	"github.com/dtask-dev/dtask/targets/targettest"
)

const (
	plainRegistry = "127.0.0.1:5000"
	authRegistry  = "127.0.0.1:5001"
	regUser       = "dtask"
	regPassword   = "dtask-secret"
)

// needRegistries starts the fixture registries (scripts/fixtures/registry.sh).
func needRegistries(t *testing.T) {
	t.Helper()
	script, _ := filepath.Abs("../../scripts/fixtures/registry.sh")
	out, err := exec.Command(script, "start").CombinedOutput()
	if err != nil {
		dockertest.Need(t, "fixture registries unavailable: "+strings.TrimSpace(string(out))+": "+err.Error(), "make registry")
	}
}

// pushEnv returns an Env, a fresh image to push and removes every tag the
// test makes.
func pushEnv(t *testing.T) (*targets.Env, string) {
	e := targettest.Env(t)
	dockertest.Images(t, "busybox:latest")
	needRegistries(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // never the user's credentials
	// A unique image, so that registries and earlier runs know nothing of it.
	src := "dtask-test/push-" + targettest.RandHex(4) + ":src"
	cmd := exec.Command("docker", "build", "-q", "-t", src, "-")
	cmd.Stdin = strings.NewReader("FROM busybox:latest\nLABEL dtask.test.nonce=" + targettest.RandHex(8) + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the test image: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		cli, _ := e.Docker(ctx)
		img, err := cli.ImageInspect(ctx, src)
		if err != nil {
			return
		}
		for _, tag := range img.RepoTags {
			cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true})
		}
		cli.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	return e, src
}

func pushTarget(t *testing.T, e *targets.Env, p *taskfile.Push) (engine.Outputs, string, error) {
	t.Helper()
	tg := &taskfile.Target{Name: "publish", Push: p}
	x, out, errb, prog := targettest.Exec(tg)
	outs, err := New(e, tg).Run(context.Background(), x)
	return outs, prog.String() + out.String() + errb.String(), err
}

func TestPushTagsPushesAndSkipsWhatTheRegistryHas(t *testing.T) {
	e, src := pushEnv(t)
	repo := plainRegistry + "/dtask-test/push-" + targettest.RandHex(4)
	p := &taskfile.Push{Image: src, Tags: []string{repo + ":v1", repo + ":latest"}}
	outs, progress, err := pushTarget(t, e, p)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	d := outs["digest"]
	if !strings.HasPrefix(d, "sha256:") || outs["tags"] != repo+":v1,"+repo+":latest" {
		t.Fatalf("outputs = %v", outs)
	}
	if !strings.Contains(progress, "pushing "+repo+":v1") {
		t.Errorf("no push progress:\n%s", progress)
	}
	// The registry serves the tag at the recorded digest.
	cli, _ := e.Docker(context.Background())
	got, err := remoteDigest(context.Background(), cli, repo+":v1", "")
	if err != nil || got != d {
		t.Errorf("registry has %s (%v), outputs say %s", got, err, d)
	}
	rec := &engine.Record{Outputs: outs}
	a := New(e, &taskfile.Target{Name: "publish", Push: p})
	if ok, why, err := a.Check(context.Background(), rec); !ok || err != nil {
		t.Errorf("Check after push = %v %q %v", ok, why, err)
	}
	// Again: nothing to upload.
	outs2, progress2, err := pushTarget(t, e, p)
	if err != nil {
		t.Fatal(err)
	}
	if outs2["digest"] != d {
		t.Errorf("second push digest %s, first %s", outs2["digest"], d)
	}
	if !strings.Contains(progress2, "already in the registry") || strings.Contains(progress2, "pushing ") {
		t.Errorf("second push was not skipped:\n%s", progress2)
	}
	// A tag the registry lacks makes Check fail with a reason.
	p3 := &taskfile.Push{Image: src, Tags: []string{repo + ":never-pushed"}}
	ok, why, err := New(e, &taskfile.Target{Name: "publish", Push: p3}).Check(context.Background(), rec)
	if ok || err != nil || !strings.Contains(why, "not in the registry") {
		t.Errorf("Check of an unpushed tag = %v %q %v", ok, why, err)
	}
}

func TestPushWithDockerConfigAuths(t *testing.T) {
	e, src := pushEnv(t)
	repo := authRegistry + "/dtask-test/auth-" + targettest.RandHex(4)
	p := &taskfile.Push{Image: src, Tags: []string{repo + ":v1"}}
	// Without credentials the registry refuses.
	if _, _, err := pushTarget(t, e, p); err == nil {
		t.Fatal("push without credentials succeeded")
	}
	auth := base64.StdEncoding.EncodeToString([]byte(regUser + ":" + regPassword))
	writeDockerConfig(t, `{"auths":{"`+authRegistry+`":{"auth":"`+auth+`"}}}`)
	outs, progress, err := pushTarget(t, e, p)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	if !strings.HasPrefix(outs["digest"], "sha256:") {
		t.Errorf("outputs = %v", outs)
	}
	if strings.Contains(progress, regPassword) {
		t.Error("progress shows the password")
	}
}

func TestPushWithCredentialHelper(t *testing.T) {
	e, src := pushEnv(t)
	bin := t.TempDir()
	helper := "#!/bin/sh\nread server\n[ \"$server\" = \"" + authRegistry + "\" ] || { echo 'credentials not found in native keychain'; exit 1; }\n" +
		"printf '{\"ServerURL\":\"%s\",\"Username\":\"" + regUser + "\",\"Secret\":\"" + regPassword + "\"}' \"$server\"\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-dtasktest"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	writeDockerConfig(t, `{"credHelpers":{"`+authRegistry+`":"dtasktest"}}`)
	repo := authRegistry + "/dtask-test/helper-" + targettest.RandHex(4)
	outs, progress, err := pushTarget(t, e, &taskfile.Push{Image: src, Tags: []string{repo + ":v1"}})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	if !strings.HasPrefix(outs["digest"], "sha256:") {
		t.Errorf("outputs = %v", outs)
	}
}

func TestPushWithUsernameAndSecretPassword(t *testing.T) {
	e, src := pushEnv(t)
	var masked []string
	secret := regPassword
	e.Secret = func(name string) (string, error) {
		if name != "REGISTRY_PASSWORD" {
			t.Errorf("secret %q asked for", name)
		}
		return secret, nil
	}
	e.Mask = func(v string) { masked = append(masked, v) }
	repo := authRegistry + "/dtask-test/userpass-" + targettest.RandHex(4)
	p := &taskfile.Push{Image: src, Tags: []string{repo + ":v1"}, Username: regUser, Password: "REGISTRY_PASSWORD"}
	outs, progress, err := pushTarget(t, e, p)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	if !strings.HasPrefix(outs["digest"], "sha256:") {
		t.Errorf("outputs = %v", outs)
	}
	if len(masked) == 0 || masked[0] != regPassword {
		t.Errorf("password not masked: %q", masked)
	}
	if strings.Contains(progress, regPassword) {
		t.Error("output shows the password")
	}

	secret = "wrong-pass-" + targettest.RandHex(4)
	p.Tags = []string{repo + ":v2"}
	_, progress, err = pushTarget(t, e, p)
	if err == nil {
		t.Fatal("push with a wrong password succeeded")
	}
	t.Logf("wrong password error: %v", err)
	if strings.Contains(err.Error(), secret) || strings.Contains(progress, secret) {
		t.Errorf("the wrong password appears in the error or output: %v\n%s", err, progress)
	}
	if !strings.Contains(err.Error(), repo+":v2") {
		t.Errorf("error does not name the tag: %v", err)
	}
}

func TestPushMissingImage(t *testing.T) {
	e := targettest.Env(t)
	_, _, err := pushTarget(t, e, &taskfile.Push{Image: "dtask-test/nope-" + targettest.RandHex(4), Tags: []string{plainRegistry + "/x:y"}})
	if err == nil || !strings.Contains(err.Error(), "dtask-test/nope-") {
		t.Errorf("err = %v", err)
	}
}

func writeDockerConfig(t *testing.T, json string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"), []byte(json), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRegistryDigestAgreesWithTheEngine pushes through the engine and asks
// the registry directly, with and without credentials: the digest the
// engine reports (when it reports one; the containerd image store does
// not) is the one the registry serves.
func TestRegistryDigestAgreesWithTheEngine(t *testing.T) {
	e, src := pushEnv(t)
	ctx := context.Background()
	cli, err := e.Docker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	creds := registry.AuthConfig{Username: regUser, Password: regPassword, ServerAddress: authRegistry}
	for _, c := range []struct {
		ref string
		ac  registry.AuthConfig
	}{
		{plainRegistry + "/dtask-test/digest-" + targettest.RandHex(4) + ":v1", registry.AuthConfig{}},
		{authRegistry + "/dtask-test/digest-" + targettest.RandHex(4) + ":v1", creds},
	} {
		if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: src, Target: c.ref}); err != nil {
			t.Fatal(err)
		}
		auth, err := registryauth.Encode(c.ac)
		if err != nil {
			t.Fatal(err)
		}
		streamed, err := streamPush(ctx, cli, c.ref, auth, func(string) {})
		if err != nil {
			t.Fatalf("push %s: %v", c.ref, err)
		}
		asked, err := registryDigest(ctx, c.ref, c.ac)
		if err != nil || !strings.HasPrefix(asked, "sha256:") {
			t.Fatalf("registryDigest(%s) = %q, %v", c.ref, asked, err)
		}
		if streamed != "" && streamed != asked {
			t.Errorf("%s: engine reported %s, registry serves %s", c.ref, streamed, asked)
		}
		t.Logf("%s: engine reported %q, registry %s", c.ref, streamed, asked)
	}
	// The authenticated registry refuses an anonymous question, naming the tag.
	ref := authRegistry + "/dtask-test/digest-anon:v1"
	if _, err := registryDigest(ctx, ref, registry.AuthConfig{}); err == nil || !strings.Contains(err.Error(), ref) {
		t.Errorf("anonymous registryDigest on the auth registry: %v", err)
	}
}
