package ui

import (
	"io"
	"sync"
	"time"
)

// held batches lines that need not show at once, so that ten thousand
// up-to-date targets cost a few writes rather than one each. What it holds
// is written before anything written at once, when it reaches heldMax,
// and at the latest heldFor after the first line held.
type held struct {
	mu    sync.Mutex
	out   io.Writer
	buf   []byte
	timer *time.Timer
}

const (
	heldFor = 100 * time.Millisecond
	heldMax = 32 << 10
)

// hold queues s.
func (h *held) hold(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf = append(h.buf, s...)
	switch {
	case len(h.buf) >= heldMax:
		h.flushLocked()
	case h.timer == nil:
		h.timer = time.AfterFunc(heldFor, h.flush)
	}
}

// write writes what is held, then s.
func (h *held) write(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flushLocked()
	io.WriteString(h.out, s)
}

func (h *held) flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flushLocked()
}

func (h *held) flushLocked() {
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil
	}
	if len(h.buf) > 0 {
		h.out.Write(h.buf)
		h.buf = h.buf[:0]
	}
}
