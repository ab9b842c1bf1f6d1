// Command build drives dtask's build action once, for scripts/bench/build/run.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/kinds"
)

func main() {
	dir := flag.String("context", ".", "build context folder")
	tag := flag.String("tag", "dtask-test/bench:latest", "image tag")
	builder := flag.String("builder", "", `"", "buildkit" or "classic"`)
	quiet := flag.Bool("q", false, "do not print the build output")
	flag.Parse()
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fail(err)
	}
	e := &targets.Env{File: &taskfile.File{Dir: abs}, Project: "bench", RunID: "bench", Kinds: kinds.All()}
	tg := &taskfile.Target{Name: "bench", Build: &taskfile.Build{Context: ".", Tags: []string{*tag}, Builder: *builder}}
	act, err := e.Action(tg, e.File)
	if err != nil {
		fail(err)
	}
	out := os.Stdout
	if *quiet {
		out, _ = os.Open(os.DevNull)
	}
	start := time.Now()
	outs, err := act.Run(context.Background(), &engine.Exec{Target: tg, Dir: abs, Stdout: out, Stderr: out, Progress: func(string) {}})
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "built %s in %.2fs\n", outs["image"], time.Since(start).Seconds())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
