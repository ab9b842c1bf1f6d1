package targets

import (
	"context"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// BuildInfo gives the revision (the GIT_SHA built-in) and the source URL
// that build targets put in their OCI labels; "" leaves a label out. Go
// cannot add a field to Env from this file, so the CLI sets this hook
// once it has resolved the built-ins; left nil, dtask asks git in the task
// file's folder.
var BuildInfo func(e *Env) (revision, source string)

func (e *Env) buildInfo() (revision, source string) {
	if BuildInfo != nil {
		return BuildInfo(e)
	}
	if e.File == nil {
		return "", ""
	}
	return gitBuildInfo(e.File.Dir)
}

func gitBuildInfo(dir string) (revision, source string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	git := func(args ...string) string {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	return git("rev-parse", "HEAD"), sourceURL(git("remote", "get-url", "origin"))
}

// sourceURL turns a git remote into a browsable URL without credentials:
// git@host:org/repo.git becomes https://host/org/repo.
func sourceURL(remote string) string {
	if remote == "" {
		return ""
	}
	if !strings.Contains(remote, "://") {
		if at := strings.Index(remote, "@"); at >= 0 {
			if host, path, ok := strings.Cut(remote[at+1:], ":"); ok {
				remote = "https://" + host + "/" + path
			}
		}
	}
	u, err := url.Parse(remote)
	if err != nil || u.Host == "" {
		return ""
	}
	u.User = nil
	if u.Scheme == "ssh" || u.Scheme == "git" {
		u.Scheme = "https"
	}
	u.Path = strings.TrimSuffix(u.Path, ".git")
	return u.String()
}
