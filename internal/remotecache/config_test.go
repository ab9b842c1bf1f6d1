package remotecache

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	cases := []struct {
		name string
		src  Sources
		repo string
		mode Mode
		http bool
		err  string
	}{
		{"file", Sources{File: "ghcr.io/acme/cache"}, "ghcr.io/acme/cache", ModeReadWrite, false, ""},
		{"env beats file", Sources{File: "ghcr.io/a/b", EnvSet: true, Env: "registry.gitlab.com/g/p/cache"}, "registry.gitlab.com/g/p/cache", ModeReadWrite, false, ""},
		{"flag beats env", Sources{EnvSet: true, Env: "ghcr.io/a/b", FlagSet: true, FlagRef: "127.0.0.1:5000/x"}, "127.0.0.1:5000/x", ModeReadWrite, true, ""},
		{"empty env turns it off", Sources{File: "ghcr.io/a/b", EnvSet: true}, "", ModeOff, false, ""},
		{"empty flag turns it off", Sources{EnvSet: true, Env: "ghcr.io/a/b", FlagSet: true}, "", ModeOff, false, ""},
		{"pull request reads", Sources{File: "ghcr.io/a/b", PullRequest: true}, "ghcr.io/a/b", ModeRead, false, ""},
		{"mode given wins", Sources{File: "ghcr.io/a/b", PullRequest: true, Mode: "readwrite"}, "ghcr.io/a/b", ModeReadWrite, false, ""},
		{"off", Sources{File: "ghcr.io/a/b", Mode: "off"}, "ghcr.io/a/b", ModeOff, false, ""},
		{"explicit http", Sources{File: "http://cache.lan:5000/dtask"}, "cache.lan:5000/dtask", ModeReadWrite, true, ""},
		{"private address is still https", Sources{File: "10.0.0.5:5000/dtask"}, "10.0.0.5:5000/dtask", ModeReadWrite, false, ""},
		{"localhost", Sources{File: "localhost:5000/dtask"}, "localhost:5000/dtask", ModeReadWrite, true, ""},
		{"no registry", Sources{File: "acme/cache"}, "", "", false, "want REGISTRY/REPOSITORY"},
		{"a tag", Sources{File: "ghcr.io/acme/cache:latest"}, "", "", false, "not a tag"},
		{"bad mode", Sources{File: "ghcr.io/a/b", Mode: "sometimes"}, "", "", false, "--remote-cache-mode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Resolve(c.src)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Repo != c.repo || got.Mode != c.mode || got.PlainHTTP != c.http {
				t.Fatalf("got %+v, want repo %q mode %s http %v", got, c.repo, c.mode, c.http)
			}
			if c.src.PullRequest && c.src.Mode == "" && got.Why == "" {
				t.Fatal("a pull request's read-only mode does not say why")
			}
		})
	}
}

func TestPlainHTTPOnlyToLoopbackOrWhenNamed(t *testing.T) {
	reg, err := Open(Config{Repo: "10.0.0.5:5000/dtask", Mode: ModeRead})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = reg.Head(t.Context(), "k-x")
	if err == nil || !strings.Contains(err.Error(), "refusing plain HTTP") {
		t.Fatalf("plain HTTP to a private address: %v", err)
	}
}
