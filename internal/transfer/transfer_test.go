package transfer

import (
	"testing"
	"time"
)

func TestSummaryIsOnePlainLine(t *testing.T) {
	got := Summary("pulled", 3, "layer", 21076378, "from", "127.0.0.1:5000/team", 1234*time.Millisecond)
	if want := "pulled 3 layers, 20.1 MB from 127.0.0.1:5000/team in 1.2s"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	got = Summary("pushed", 1, "blob", 1536, "to", "reg/x", 80*time.Millisecond)
	if want := "pushed 1 blob, 1.5 kB to reg/x in 80ms"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestProgressSaysRateAndTimeLeft(t *testing.T) {
	if got, want := Progress(4<<20, 12<<20, 2*time.Second), "4.0 MB of 12.0 MB, 2.0 MB/s, 4s left"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got, want := Progress(4<<20, 0, 2*time.Second), "4.0 MB, 2.0 MB/s"; got != want {
		t.Fatalf("total unknown: got %q, want %q", got, want)
	}
}
