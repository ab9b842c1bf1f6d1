package targets

import (
	"cmp"
	"context"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// BuildInfo gives the revision and source URL for labels: the CLI's
// values, else git's in the task file's folder.
func (e *Env) BuildInfo() (revision, source string) {
	revision, source = e.Revision, e.Source
	if (revision == "" || source == "") && e.File != nil {
		gr, gs := gitBuildInfo(e.File.Dir)
		revision, source = cmp.Or(revision, gr), cmp.Or(source, gs)
	}
	return revision, source
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
