package targets

import (
	"cmp"
	"context"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// BuildInfo gives the revision and source URL for labels: the CLI's
// values, else git's in the task file's folder. git is asked once per run,
// its two questions at once: each is a process, 5 ms on an idle machine and
// up to 60 ms on a busy one, and a build waits for the answer before it
// starts (PrefetchBuildInfo asks earlier).
func (e *Env) BuildInfo() (revision, source string) {
	e.info.Do(func() {
		e.info.revision, e.info.source = e.Revision, e.Source
		if (e.Revision == "" || e.Source == "") && e.File != nil {
			gr, gs := gitBuildInfo(e.File.Dir)
			e.info.revision, e.info.source = cmp.Or(e.Revision, gr), cmp.Or(e.Source, gs)
		}
	})
	return e.info.revision, e.info.source
}

// PrefetchBuildInfo starts BuildInfo's git questions in the background,
// so that they overlap what a build does before it needs the answer.
func (e *Env) PrefetchBuildInfo() { go e.BuildInfo() }

// buildInfo is BuildInfo's answer, computed once.
type buildInfo struct {
	sync.Once
	revision, source string
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
	done := make(chan struct{})
	go func() {
		defer close(done)
		source = sourceURL(git("remote", "get-url", "origin"))
	}()
	revision = git("rev-parse", "HEAD")
	<-done
	return revision, source
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
