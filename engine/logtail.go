package engine

import (
	"strings"
	"sync"
)

// logTailSize is how much of a target's output a record keeps for a team
// cache: enough to read why a test passed, bounded for the registry.
const logTailSize = 64 << 10

// logTail keeps the last logTailSize bytes written to it.
type logTail struct {
	mu  sync.Mutex
	buf []byte
}

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if over := len(l.buf) - logTailSize; over > 0 {
		l.buf = append(l.buf[:0], l.buf[over:]...)
	}
	return len(p), nil
}

// masked returns the tail with secret values masked; without a masker it
// returns nothing, since nothing could vouch that it holds no secret.
func (l *logTail) masked(redact func(string) string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if redact == nil || len(l.buf) == 0 {
		return ""
	}
	text := string(l.buf)
	if len(l.buf) == logTailSize {
		// The first line may be cut through a secret, which the masker
		// would no longer recognise: start at a whole line.
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		} else {
			return ""
		}
	}
	return redact(text)
}
