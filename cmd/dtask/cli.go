package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"
)

// cli is dtask's command line. Utility operations are flags, not
// subcommands, so that every name stays free for targets.
type cli struct {
	File       string `short:"f" help:"Task file to use (default: Taskfile.toml or dtask.toml here or in a parent folder)." placeholder:"FILE"`
	List       bool   `short:"l" help:"List targets with their descriptions."`
	DryRun     bool   `short:"n" name:"dry-run" help:"Print what would run and why; run nothing."`
	Force      bool   `help:"Run the named targets even if they are up to date."`
	NoCache    bool   `name:"no-cache" help:"Ignore all recorded successes and the image cache."`
	Watch      bool   `short:"w" help:"Run, then re-run when a source changes."`
	Env        string `short:"e" name:"env" help:"Use [environments.NAME] (default: $$DTASK_ENV)." placeholder:"NAME"`
	Output     string `default:"auto" enum:"auto,tty,plain,github,gitlab,json" help:"Output style: auto, tty, plain, github, gitlab or json."`
	Jobs       int    `short:"j" help:"Targets to run in parallel (default: number of CPUs)." placeholder:"N"`
	Verbose    bool   `short:"v" help:"Show more detail."`
	Version    bool   `help:"Print the version and exit."`
	Graph      string `help:"Print the dependency graph as dot or mermaid and exit." enum:",dot,mermaid" default:"" placeholder:"FORMAT"`
	Clean      bool   `help:"Remove containers and networks left by killed runs, and exit."`
	Interval   string `help:"Watch mode: how long to wait for a burst of writes to settle (default 30ms)." default:"" placeholder:"DURATION"`
	Clear      bool   `help:"Watch mode: clear the screen before each run."`
	JUnit      string `name:"junit" help:"Write a JUnit XML report of the run to FILE." placeholder:"FILE"`
	CITemplate string `name:"ci-template" help:"Print a CI config that runs dtask ci with .dtask/ cached: github, gitlab or circleci." enum:",github,gitlab,circleci" default:"" placeholder:"PROVIDER"`
	Cache      string `help:"Image cache: list, prune (to cache.max_size or --max-size) or clear, and exit." enum:",list,prune,clear" default:"" placeholder:"OP"`
	MaxSize    string `name:"max-size" help:"With --cache prune: the size to prune to (e.g. 5GB)." placeholder:"SIZE"`

	RemoteCache     optString `name:"remote-cache" help:"Team cache: an OCI registry repository (REGISTRY/REPO) for records and images; overrides [cache] remote and $$DTASK_REMOTE_CACHE; empty turns it off." placeholder:"REF"`
	RemoteCacheMode string    `name:"remote-cache-mode" help:"Team cache mode: read, readwrite or off (default readwrite; read on pull request builds)." enum:",read,readwrite,off" default:"" placeholder:"MODE"`
	Explain         string    `help:"Dry run of TARGET that prints which lines of its key differ from the nearest record, local or in the team cache." placeholder:"TARGET"`

	Args []string `arg:"" optional:"" name:"target" help:"Targets to run (default: the file's default), and NAME=value variables."`
}

// usageError is a bad command line; dtask exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) ExitCode() int { return 2 }

// exitRequest carries kong's own exit (after --help) out of Parse.
type exitRequest struct{ code int }

// parseArgs parses args. done is true when kong already answered (--help).
func parseArgs(args []string, stdout, stderr io.Writer) (c *cli, code int, done bool, err error) {
	c = &cli{}
	p, err := kong.New(c,
		kong.Name("dtask"),
		kong.Description("Runs the Docker build, test, publish and deploy targets of a TOML task file, skipping what is up to date."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitRequest{code}) }),
		kong.UsageOnError(),
	)
	if err != nil {
		return nil, 0, false, err
	}
	defer func() {
		if r := recover(); r != nil {
			ex, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			code, done, err = ex.code, true, nil
		}
	}()
	if _, err := p.Parse(args); err != nil {
		return nil, 0, false, &usageError{msg: err.Error()}
	}
	return c, 0, false, nil
}

// split separates NAME=value variables from target names.
func split(args []string) (targets []string, vars map[string]string, err error) {
	vars = map[string]string{}
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		if !ok {
			targets = append(targets, a)
			continue
		}
		if !validName(name) {
			return nil, nil, &usageError{msg: fmt.Sprintf("bad variable %q: a name is letters, digits and _", a)}
		}
		vars[name] = value
	}
	return targets, vars, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
