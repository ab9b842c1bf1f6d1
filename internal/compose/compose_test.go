package compose

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestServicesMapsComposeKeys(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "db.env", "FROM_FILE=yes\n")
	write(t, dir, "compose.yaml", `services:
  db:
    image: mariadb:10.11
    command: ["mariadbd", "--port=3306"]
    environment:
      MARIADB_DATABASE: shop
      PRICE: "$$5"
    env_file: db.env
    volumes:
      - ./seed:/seed:ro
      - data:/var/lib/mysql
    ports:
      - "127.0.0.1:3307:3306"
    healthcheck:
      test: ["CMD-SHELL", "mariadb-admin ping"]
      interval: 2s
      start_period: 10s
      retries: 5
  app:
    image: busybox
    depends_on: [db]
volumes:
  data: {}
`)
	svcs, err := Services(dir, []string{"compose.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	db := svcs["db"]
	if db == nil || db.Image != "mariadb:10.11" || !slices.Equal(db.Cmd, []string{"mariadbd", "--port=3306"}) {
		t.Fatalf("db = %+v", db)
	}
	if db.Env["MARIADB_DATABASE"] != "shop" || db.Env["FROM_FILE"] != "yes" || db.Env["PRICE"] != "$$5" {
		t.Errorf("env = %v (a $ must come out escaped for the task file's interpolation)", db.Env)
	}
	if !slices.Equal(db.Volumes, []string{filepath.Join(dir, "seed") + ":/seed:ro", "data:/var/lib/mysql"}) {
		t.Errorf("volumes = %v", db.Volumes)
	}
	if !slices.Equal(db.Ports, []string{"127.0.0.1:3307:3306"}) {
		t.Errorf("ports = %v", db.Ports)
	}
	h := db.Health
	if h == nil || h.Test[0] != "CMD-SHELL" || h.Interval.Duration != 2*time.Second || h.StartPeriod.Duration != 10*time.Second || h.Retries != 5 {
		t.Errorf("health = %+v", h)
	}
	if app := svcs["app"]; app == nil || !slices.Equal(app.DependsOn, []string{"db"}) || app.From != "compose.yaml" {
		t.Errorf("app = %+v", app)
	}
}

func TestServicesRefusesUnsupportedKeys(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"services:\n  db:\n    image: x\n    deploy:\n      replicas: 2\n", `compose.yaml:4:5: services.db: key "deploy" is not supported`},
		{"services:\n  db:\n    image: x\nnetworks:\n  n: {}\n", `compose.yaml:4:1: top-level key "networks" is not supported`},
		{"services:\n  db:\n    build:\n      context: .\n      ssh: [default]\n", `compose.yaml:5:7: services.db.build: key "ssh" is not supported`},
		{"services:\n  db:\n    image: x\n   bad-indent: 1\n", `compose.yaml`},
	} {
		dir := t.TempDir()
		write(t, dir, "compose.yaml", tc.yaml)
		_, err := Services(dir, []string{"compose.yaml"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// TestServicesBuild: a service with build: becomes a build the task file
// turns into a target; the Dockerfile is relative to the context, as in
// compose, and image names the tag.
func TestServicesBuild(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "compose.yaml", `services:
  api:
    image: shop/api:dev
    build:
      context: ./api
      dockerfile: Dockerfile.dev
      args:
        GREETING: hello
      target: test
  worker:
    build: ./worker
`)
	svcs, err := Services(dir, []string{"compose.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	api := svcs["api"]
	b := api.ComposeBuild
	if api.Image != "" || b == nil {
		t.Fatalf("api = %+v", api)
	}
	ctx := filepath.Join(dir, "api")
	if b.Context != ctx || b.Dockerfile != filepath.Join(ctx, "Dockerfile.dev") || b.Target != "test" ||
		b.Args["GREETING"] != "hello" || !slices.Equal(b.Tags, []string{"shop/api:dev"}) {
		t.Errorf("api build = %+v", b)
	}
	if w := svcs["worker"].ComposeBuild; w == nil || w.Context != filepath.Join(dir, "worker") || len(w.Tags) != 0 {
		t.Errorf("worker build = %+v", w)
	}
}

// TestUnsupportedKeyInSecondFile: with two files, the error names the one
// that writes the key, with its line.
func TestUnsupportedKeyInSecondFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "compose.yaml", "services:\n  db:\n    image: x\n")
	write(t, dir, "compose.override.yaml", "services:\n  db:\n    privileged: true\n")
	_, err := Services(dir, []string{"compose.yaml", "compose.override.yaml"})
	if err == nil || !strings.Contains(err.Error(), `compose.override.yaml:3:5: services.db: key "privileged"`) {
		t.Errorf("err = %v", err)
	}
}

// TestServicesPathsRelativeToComposeFile: a compose file in a subfolder
// resolves its relative paths, and finds its .env, in its own folder (as
// docker compose does), not in the task file's.
func TestServicesPathsRelativeToComposeFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "deploy")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, sub, ".env", "TAG=7\n")
	write(t, sub, "compose.yaml", "services:\n  db:\n    image: redis:${TAG}\n    volumes: [./seed:/seed]\n  api:\n    build: ./api\n")
	svcs, err := Services(dir, []string{"deploy/compose.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if db := svcs["db"]; db.Image != "redis:7" || !slices.Equal(db.Volumes, []string{filepath.Join(sub, "seed") + ":/seed"}) {
		t.Errorf("db = %+v", db)
	}
	if b := svcs["api"].ComposeBuild; b == nil || b.Context != filepath.Join(sub, "api") {
		t.Errorf("api build = %+v", b)
	}
}
