package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/dtask-dev/dtask/internal/watchrun"
)

// cli is dtask's command line. Utility operations are flags, not
// subcommands, so that every name stays free for targets.
type cli struct {
	File       string `short:"f" help:"Task file to use (default: Taskfile.toml or dtask.toml here or in a parent folder)." placeholder:"FILE"`
	List       bool   `short:"l" help:"List targets with their descriptions."`
	DryRun     bool   `short:"n" name:"dry-run" help:"Print what would run and why; run nothing."`
	Force      bool   `help:"Run the named targets even if they are up to date (for a group: its members)."`
	NoCache    bool   `name:"no-cache" help:"Ignore all recorded successes and the image cache."`
	Watch      bool   `short:"w" help:"Run, then re-run when a source changes."`
	Env        string `short:"e" name:"env" help:"Use [environments.NAME] (default: $$DTASK_ENV)." placeholder:"NAME"`
	Output     string `default:"auto" enum:"auto,tty,plain,github,gitlab,json" help:"Output style: auto, tty, plain, github, gitlab or json."`
	Jobs       int    `short:"j" help:"Targets to run in parallel (default: number of CPUs)." placeholder:"N"`
	Verbose    bool   `short:"v" help:"Show more detail (and how long each phase of the image cache took, on stderr)."`
	Version    bool   `help:"Print the version and exit."`
	Graph      string `help:"Print the dependency graph as dot or mermaid and exit." enum:",dot,mermaid" default:"" placeholder:"FORMAT"`
	Clean      bool   `help:"Remove containers and networks left by killed runs, and exit."`
	Interval   string `help:"Watch mode: how long to wait for a burst of writes to settle (default 30ms)." default:"" placeholder:"DURATION"`
	Clear      bool   `help:"Watch mode: clear the screen before each run."`
	JUnit      string `name:"junit" help:"Write a JUnit XML report of the run to FILE." placeholder:"FILE"`
	CITemplate string `name:"ci-template" help:"Print a CI config that runs dtask ci with .dtask/ cached: github, gitlab or circleci." enum:",github,gitlab,circleci" default:"" placeholder:"PROVIDER"`
	Cache      string `help:"Image cache: list, prune (to cache.max_size or --max-size) or clear, and exit." enum:",list,prune,clear" default:"" placeholder:"OP"`
	MaxSize    string `name:"max-size" help:"With --cache prune: the size to prune to (e.g. 5GB)." placeholder:"SIZE"`
	Completion string `help:"Print a shell completion script (bash, zsh or fish) and exit." enum:",bash,zsh,fish" default:"" placeholder:"SHELL"`
	Schema     bool   `help:"Print the task file's JSON schema (for editors) and exit."`
	Init       bool   `help:"Write a commented starter Taskfile.toml from what is in this folder, and exit; never overwrites."`

	// Hidden: what the completion scripts and docs/ generation call.
	Complete string `hidden:"" enum:",targets,envs" default:""`
	DocsCLI  bool   `name:"docs-cli" hidden:""`

	RemoteCache     optString `name:"remote-cache" help:"Team cache: an OCI registry repository (REGISTRY/REPO) for records and images; overrides [cache] remote and $$DTASK_REMOTE_CACHE; empty turns it off." placeholder:"REF"`
	RemoteCacheMode string    `name:"remote-cache-mode" help:"Team cache mode: read, readwrite or off (default readwrite; read on pull request builds)." enum:",read,readwrite,off" default:"" placeholder:"MODE"`
	Explain         string    `help:"Dry run of TARGET that prints which lines of its key differ from the nearest record, local or in the team cache." placeholder:"TARGET"`

	Args []string `arg:"" optional:"" name:"target" help:"Targets to run (default: the file's default), and NAME=value variables."`

	started time.Time // when dtask started, for the start-up time watch -v prints
}

// Validate refuses flag values that kong's types let through (kong calls
// it after parsing).
func (c *cli) Validate() error {
	if c.Jobs < 0 {
		return fmt.Errorf("--jobs: %d is not a number of targets (1 or more; 0: the number of CPUs)", c.Jobs)
	}
	// Checked without -w too: a bad value silently accepted would only
	// fail the day -w is added to the same command line.
	if _, err := watchrun.Interval(c.Interval); err != nil {
		return err
	}
	return nil
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
	p, err := newParser(c, stdout, stderr)
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
	if _, err := p.Parse(flagsFirst(p.Model.Node, args)); err != nil {
		return nil, 0, false, &usageError{msg: err.Error()}
	}
	return c, 0, false, nil
}

// flagsFirst moves the flags before the targets and variables, so that
// `dtask gen --force X=1` works as make's command line does: kong takes
// the positional list only once, up to the first flag. A flag's value
// (-f FILE, --env NAME) stays with it; everything after "--" is left as
// it is.
func flagsFirst(node *kong.Node, args []string) []string {
	takesValue := map[string]bool{}
	for _, group := range node.AllFlags(false) {
		for _, f := range group {
			if !f.IsBool() && !f.IsCounter() {
				takesValue["--"+f.Name] = true
				if f.Short != 0 {
					takesValue["-"+string(f.Short)] = true
				}
			}
		}
	}
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(append(flags, rest...), args[i:]...)
		case len(a) < 2 || a[0] != '-':
			rest = append(rest, a)
		case takesValue[a] || !strings.HasPrefix(a, "--") && takesValue["-"+a[len(a)-1:]]: // "--env NAME", "-nf FILE"
			if i+1 == len(args) { // no value: kong says so where it stands
				rest = append(rest, a)
				continue
			}
			flags = append(flags, a, args[i+1])
			i++
		default:
			flags = append(flags, a)
		}
	}
	return append(flags, rest...)
}

// newParser is the kong model of the command line: what parses it, and
// what the completions and docs/cli.md are made from.
func newParser(c *cli, stdout, stderr io.Writer) (*kong.Kong, error) {
	return kong.New(c,
		kong.Name("dtask"),
		kong.Description("Runs the Docker build, test, publish and deploy targets of a TOML task file, skipping what is up to date."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitRequest{code}) }),
		kong.UsageOnError(),
	)
}

// flags lists the command line's visible flags, --help included.
func flags() []*kong.Flag {
	p, err := newParser(&cli{}, io.Discard, io.Discard)
	if err != nil {
		panic(err) // the model is static: a test catches this
	}
	var out []*kong.Flag
	for _, f := range p.Model.Node.Flags {
		if !f.Hidden {
			out = append(out, f)
		}
	}
	return out
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
