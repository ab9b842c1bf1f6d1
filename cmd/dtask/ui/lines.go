package ui

import (
	"bytes"
	"sort"
	"strings"
	"sync"
)

// Masker replaces secret values with *** in every line shown.
type Masker struct {
	mu     sync.RWMutex
	values []string
}

// MinMaskLen is the shortest value Add masks. Masking shorter values
// would garble ordinary output (a secret "test" would hide every target
// named test); Short reports such values so that users are told.
const MinMaskLen = 6

// Short says whether a value is too short to be masked.
func Short(v string) bool { return len(v) < MinMaskLen }

// Add registers a value to mask; empty and short values (Short) are
// ignored.
func (m *Masker) Add(v string) {
	if Short(v) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values = append(m.values, v)
	// Output is masked line by line: each line of a multi-line secret (a
	// key file) must be masked on its own too.
	if strings.ContainsAny(v, "\r\n") {
		for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if l = strings.TrimSpace(l); !Short(l) {
				m.values = append(m.values, l)
			}
		}
	}
	// Longer values first, so that a line is not masked before the whole.
	sort.SliceStable(m.values, func(i, j int) bool { return len(m.values[i]) > len(m.values[j]) })
}

// Mask returns s with every registered value replaced.
func (m *Masker) Mask(s string) string {
	if m == nil {
		return s
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, v := range m.values {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}

// lineWriter splits what is written into lines and hands each complete
// line to emit; Flush emits a trailing partial line.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	emit func(line string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSuffix(string(w.buf[:i]), "\r")
		w.buf = w.buf[i+1:]
		w.emit(line)
	}
	return len(p), nil
}

// Flush emits what is left without a newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
}

// tail keeps the last n lines of a target's output, shown again on failure.
type tail struct {
	n     int
	lines []string
}

func (t *tail) add(s string) {
	t.lines = append(t.lines, s)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}
