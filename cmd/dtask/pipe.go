package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/term"
)

// brokenPipe is a writer to dtask's stdout or stderr that stops the run
// when the reader goes away (`dtask test | head`): the containers it
// started are then removed as after Ctrl-C, and further output is dropped.
type brokenPipe struct {
	w      io.Writer
	cancel context.CancelFunc
	once   sync.Once
	broken bool
	mu     sync.Mutex
}

func (b *brokenPipe) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken {
		return len(p), nil
	}
	n, err := b.w.Write(p)
	if errors.Is(err, syscall.EPIPE) {
		b.broken = true
		b.once.Do(b.cancel)
		return len(p), nil
	}
	return n, err
}

// guardPipes makes a broken stdout or stderr cancel ctx instead of killing
// dtask: Go exits at once on SIGPIPE for those two unless the signal is
// being received, and an exit there would leave containers running. A
// caught signal is reset for the commands dtask starts, so `yes | head`
// in a host command behaves as usual.
func guardPipes(ctx context.Context, stdout, stderr io.Writer) (context.Context, io.Writer, io.Writer, func()) {
	ctx, cancel := context.WithCancel(ctx)
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	go func() {
		for range pipe { // the failing write itself reports the break
		}
	}()
	stop := func() { signal.Stop(pipe); close(pipe); cancel() }
	return ctx, guard(stdout, cancel), guard(stderr, cancel), stop
}

// guard wraps w unless it is a terminal, which never breaks like a pipe
// and which the display recognises as an *os.File.
func guard(w io.Writer, cancel context.CancelFunc) io.Writer {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return w
	}
	return &brokenPipe{w: w, cancel: cancel}
}
