package transfer

import (
	"fmt"
	"time"
)

// Size is n bytes as people read it: "512 B", "1.5 kB", "20.1 MB".
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Progress is the running state of a transfer: "12.0 MB of 20.0 MB,
// 4.0 MB/s, 2s left" (total 0: not known yet, no time left).
func Progress(done, total int64, elapsed time.Duration) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	if total <= done || rate == 0 {
		return fmt.Sprintf("%s, %s/s", Size(done), Size(int64(rate)))
	}
	left := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%s of %s, %s/s, %s left", Size(done), Size(total), Size(int64(rate)), left)
}

// Summary is the line a finished transfer leaves in every output:
// "pulled 3 layers, 20.1 MB from REG in 1.2s". verb is "pulled" or
// "pushed", what names the units ("layer", "blob"), dir is "from" or
// "to", where the registry or engine.
func Summary(verb string, n int, what string, bytes int64, dir, where string, elapsed time.Duration) string {
	if n != 1 {
		what += "s"
	}
	return fmt.Sprintf("%s %d %s, %s %s %s in %s", verb, n, what, Size(bytes), dir, where, round(elapsed))
}

// round keeps a duration short: tenths of a second.
func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
