package targets

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSpanPrintsPhaseAndDuration(t *testing.T) {
	var buf bytes.Buffer
	span(&buf, "save of image", time.Now().Add(-1500*time.Millisecond))()
	line := strings.TrimSuffix(buf.String(), "\n")
	rest, ok := strings.CutPrefix(line, "image cache: save of image: ")
	if !ok {
		t.Fatalf("span line = %q, want the phase after \"image cache: \"", line)
	}
	d, err := time.ParseDuration(rest)
	if err != nil || d < 1500*time.Millisecond || d > time.Minute {
		t.Fatalf("span line = %q: duration %v (%v), want about 1.5s", line, d, err)
	}
}
