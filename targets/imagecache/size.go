package imagecache

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize reads a size such as 10GB, 500MB, 2GiB or 1048576 (bytes).
// KB, MB, GB and TB are powers of 1000, KiB... of 1024, as docker prints them.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q: want a number and a unit, e.g. 10GB", s)
	}
	mult := map[string]float64{
		"": 1, "B": 1,
		"K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9, "T": 1e12, "TB": 1e12,
		"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("bad size %q: unknown unit %q (use B, KB, MB, GB, TB or KiB, MiB, GiB)", s, t[i:])
	}
	if v*mult >= math.MaxInt64 { // would wrap to a negative budget, which prunes everything
		return 0, fmt.Errorf("bad size %q: too large", s)
	}
	return int64(v * mult), nil
}

// FormatSize prints bytes the way docker does (decimal units).
func FormatSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	u := 0
	for f >= 1000 && u < len(units)-1 {
		f /= 1000
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.3g %s", f, units[u])
}
