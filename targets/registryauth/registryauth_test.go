package registryauth

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/moby/api/pkg/authconfig"
)

func writeConfig(t *testing.T, json string) *Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(json), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fakeHelper puts docker-credential-NAME on PATH, answering for one server.
func fakeHelper(t *testing.T, name, server, user, secret string) {
	t.Helper()
	bin := t.TempDir()
	script := "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nread s\n" +
		"if [ \"$s\" != \"" + server + "\" ]; then echo 'credentials not found in native keychain'; exit 1; fi\n" +
		"echo '{\"ServerURL\":\"" + server + "\",\"Username\":\"" + user + "\",\"Secret\":\"" + secret + "\"}'\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-"+name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestHostAndServerKey(t *testing.T) {
	for ref, want := range map[string]string{
		"redis:7":                             IndexServer,
		"docker.io/library/redis":             IndexServer,
		"user/app:1":                          IndexServer,
		"127.0.0.1:5000/app:v1":               "127.0.0.1:5000",
		"ghcr.io/org/app@sha256:" + sixtyFour: "ghcr.io",
	} {
		h, err := Host(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if got := ServerKey(h); got != want {
			t.Errorf("ServerKey(Host(%q)) = %q, want %q", ref, got, want)
		}
	}
	if _, err := Host("UPPER/Case"); err == nil {
		t.Error("bad reference accepted")
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestLookupAuths(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte("alice:s3cret:with:colons"))
	c := writeConfig(t, `{"auths":{
		"https://index.docker.io/v1/": {"auth": "`+b64+`"},
		"https://registry.example.com/v2/": {"username": "bob", "password": "pw"},
		"tok.example.com": {"identitytoken": "tkn"}
	}}`)
	ctx := context.Background()
	ac, err := c.Lookup(ctx, "docker.io")
	if err != nil || ac.Username != "alice" || ac.Password != "s3cret:with:colons" || ac.ServerAddress != IndexServer {
		t.Errorf("docker.io: %+v %v", ac, err)
	}
	ac, err = c.Lookup(ctx, "registry.example.com")
	if err != nil || ac.Username != "bob" || ac.Password != "pw" {
		t.Errorf("key with scheme and path: %+v %v", ac, err)
	}
	ac, err = c.Lookup(ctx, "tok.example.com")
	if err != nil || ac.IdentityToken != "tkn" {
		t.Errorf("identity token: %+v %v", ac, err)
	}
	ac, err = c.Lookup(ctx, "unknown.example.com")
	if err != nil || ac.Username != "" || ac.Password != "" {
		t.Errorf("unknown registry: %+v %v", ac, err)
	}
	bad := writeConfig(t, `{"auths":{"x.io":{"auth":"!!notbase64"}}}`)
	if _, err := bad.Lookup(ctx, "x.io"); err == nil {
		t.Error("bad base64 accepted")
	}
}

func TestLookupHelpers(t *testing.T) {
	fakeHelper(t, "dtaskfake", "reg.example.com:5000", "helper-user", "helper-secret")
	ctx := context.Background()
	c := writeConfig(t, `{"credHelpers":{"reg.example.com:5000":"dtaskfake"},
		"auths":{"reg.example.com:5000":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("file:file"))+`"}}}`)
	ac, err := c.Lookup(ctx, "reg.example.com:5000")
	if err != nil || ac.Username != "helper-user" || ac.Password != "helper-secret" {
		t.Errorf("credHelpers: %+v %v", ac, err)
	}
	// credsStore answers for every registry; not found is anonymous, not an error.
	c = writeConfig(t, `{"credsStore":"dtaskfake"}`)
	ac, err = c.Lookup(ctx, "other.example.com")
	if err != nil || ac.Username != "" {
		t.Errorf("credsStore, not found: %+v %v", ac, err)
	}
	ac, err = c.Lookup(ctx, "reg.example.com:5000")
	if err != nil || ac.Username != "helper-user" {
		t.Errorf("credsStore: %+v %v", ac, err)
	}
	// A helper that is not installed is an error naming it.
	c = writeConfig(t, `{"credsStore":"dtask-not-installed"}`)
	if _, err := c.Lookup(ctx, "x.io"); err == nil {
		t.Error("missing helper not reported")
	}
}

func TestTokenHelperAndEncode(t *testing.T) {
	fakeHelper(t, "dtasktoken", IndexServer, "<token>", "refresh-token")
	c := writeConfig(t, `{"credsStore":"dtasktoken"}`)
	ac, err := c.Lookup(context.Background(), "docker.io")
	if err != nil || ac.IdentityToken != "refresh-token" || ac.Username != "" {
		t.Fatalf("%+v %v", ac, err)
	}
	enc, err := Encode(ac)
	if err != nil {
		t.Fatal(err)
	}
	back, err := authconfig.Decode(enc)
	if err != nil || back.IdentityToken != "refresh-token" || back.ServerAddress != IndexServer {
		t.Errorf("round trip: %+v %v", back, err)
	}
}

func TestLoadMissingAndBroken(t *testing.T) {
	c, err := Load(t.TempDir())
	if err != nil || len(c.Auths) != 0 {
		t.Errorf("missing config: %+v %v", c, err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{"), 0o600)
	if _, err := Load(dir); err == nil {
		t.Error("broken config accepted")
	}
	t.Setenv("DOCKER_CONFIG", dir)
	if ConfigDir() != dir {
		t.Error("DOCKER_CONFIG ignored")
	}
}
