package remotecache

import (
	"fmt"
	"net"
	"strings"
)

// Mode says what a run does with the team cache.
type Mode string

const (
	ModeOff       Mode = "off"       // neither look up nor publish
	ModeRead      Mode = "read"      // use hits, publish nothing
	ModeReadWrite Mode = "readwrite" // use hits and publish successes
)

// Config is the team cache a run uses: the repository and the mode.
type Config struct {
	Repo string // REGISTRY/REPO, without a scheme
	// PlainHTTP is true when the user named the registry with http:// or
	// it is a loopback address; nothing else is ever spoken to in clear.
	PlainHTTP bool
	Mode      Mode
	// Why says where the mode came from when it was not asked for (a pull
	// request build is read-only).
	Why string
}

// Enabled reports whether the run looks anything up in the team cache.
func (c Config) Enabled() bool { return c.Repo != "" && c.Mode != ModeOff }

// Sources are the places a team cache setting can come from, strongest
// first: the command line, the environment, the task file.
type Sources struct {
	FlagSet           bool   // --remote-cache was given, even empty
	FlagRef           string // its value
	EnvSet            bool   // DTASK_REMOTE_CACHE is set, even empty
	Env               string // its value
	File              string // [cache] remote
	Mode              string // --remote-cache-mode; "" means the default
	PullRequest       bool   // a pull request build (CI detection)
	PullRequestSource string // the CI provider, for the message
}

// Resolve picks the repository and mode. An empty --remote-cache or
// DTASK_REMOTE_CACHE turns the team cache off; a pull request build only
// reads unless the mode is given, so untrusted code cannot poison it.
func Resolve(s Sources) (Config, error) {
	ref := s.File
	switch {
	case s.FlagSet:
		ref = s.FlagRef
	case s.EnvSet:
		ref = s.Env
	}
	var c Config
	switch Mode(s.Mode) {
	case "":
		c.Mode = ModeReadWrite
		if s.PullRequest {
			c.Mode, c.Why = ModeRead, "read-only: a pull request build ("+s.PullRequestSource+")"
		}
	case ModeOff, ModeRead, ModeReadWrite:
		c.Mode = Mode(s.Mode)
	default:
		return Config{}, fmt.Errorf("--remote-cache-mode: %q is not read, readwrite or off", s.Mode)
	}
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Config{Mode: ModeOff}, nil
	}
	repo, plain, err := ParseRef(ref)
	if err != nil {
		return Config{}, err
	}
	c.Repo, c.PlainHTTP = repo, plain
	return c, nil
}

// ParseRef splits a team cache reference into REGISTRY/REPO and whether
// to speak plain HTTP: only with an explicit http:// or for loopback.
func ParseRef(ref string) (repo string, plain bool, err error) {
	switch {
	case strings.HasPrefix(ref, "http://"):
		repo, plain = strings.TrimPrefix(ref, "http://"), true
	case strings.HasPrefix(ref, "https://"):
		repo = strings.TrimPrefix(ref, "https://")
	default:
		repo = ref
	}
	repo = strings.TrimSuffix(repo, "/")
	host, path, ok := strings.Cut(repo, "/")
	if !ok || path == "" || !strings.ContainsAny(host, ".:") && host != "localhost" {
		return "", false, fmt.Errorf("remote cache %q: want REGISTRY/REPOSITORY, e.g. ghcr.io/acme/dtask-cache", ref)
	}
	if strings.ContainsAny(path, "@:") {
		return "", false, fmt.Errorf("remote cache %q: name a repository, not a tag or digest", ref)
	}
	return repo, plain || IsLoopback(host), nil
}

// IsLoopback reports whether host (with or without a port) is this machine.
func IsLoopback(host string) bool {
	h := host
	if sh, _, err := net.SplitHostPort(host); err == nil {
		h = sh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}
