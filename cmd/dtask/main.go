// Command dtask runs a TOML task file of Docker build, test, publish and
// deploy targets, skipping what is up to date.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	// A run is short: collecting garbage less often than Go's default
	// takes milliseconds off a no-op run. Not too seldom: every page the
	// heap grows into costs a page fault, and at 400 an up-to-date run of
	// 10,000 targets grew to ~90 MB (16,000 faults) where at 200 it
	// reuses freed memory (11,900 faults, 12% less CPU); a 100,000-file
	// no-op is the same either way.
	debug.SetGCPercent(200)
	os.Exit(mainCode())
}

// mainCode is main but for the exit: Ctrl-C and SIGTERM cancel the run's
// context so that everything it started is stopped and removed.
func mainCode() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal the run stops cleanly; a second one kills
	// dtask at once, as users of make and docker expect.
	go func() { <-ctx.Done(); stop() }()
	ctx, stdout, stderr, unguard := guardPipes(ctx, os.Stdout, os.Stderr)
	defer unguard()
	return run(ctx, os.Args[1:], stdout, stderr)
}
