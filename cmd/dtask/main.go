package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	paceGC()
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
	routeLogrus(stderr)
	return run(ctx, os.Args[1:], stdout, stderr)
}
