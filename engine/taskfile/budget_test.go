package taskfile

import (
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dtask-dev/dtask/engine/vars"
)

// The budget every task file under 1 MB must load and resolve within: a
// file from a cloned repository is read by -l and -n, which must not hang.
const (
	budgetInput = 1 << 20
	budgetCPU   = time.Second
	budgetAlloc = 256 << 20
)

// FuzzLoadBudget loads and resolves each input as dtask does and fails any
// that costs more than the budget. CPU time rather than wall time is
// measured, so that a busy machine does not fail it; bytes allocated in all
// bound the peak from above.
func FuzzLoadBudget(f *testing.F) {
	for _, s := range hostileSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= budgetInput {
			return
		}
		cpu, alloc := measure(func() { loadAndResolve(data) })
		t.Logf("%d bytes: %v CPU, %d MB allocated", len(data), cpu.Round(time.Millisecond), alloc>>20)
		if cpu > budgetCPU || alloc > budgetAlloc {
			t.Fatalf("%d-byte input took %v CPU and allocated %d MB (budget %v, %d MB)",
				len(data), cpu, alloc>>20, budgetCPU, budgetAlloc>>20)
		}
	})
}

func loadAndResolve(data []byte) {
	f, err := Parse("f.toml", data)
	if err != nil {
		return
	}
	scope := vars.NewScope(vars.Layer{Name: "vars", Vars: f.Vars, Template: true})
	_, _ = Resolve(f, scope)
	_, _ = f.Closure(f.TargetNames())
}

// measure runs fn and returns the process CPU time and bytes it allocated.
func measure(fn func()) (time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c0 := cpuTime()
	fn()
	c1 := cpuTime()
	runtime.ReadMemStats(&after)
	return c1 - c0, after.TotalAlloc - before.TotalAlloc
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hostileSeeds are the shapes that hung dtask or exhausted its memory,
// each as large as fits under the budget's input size.
func hostileSeeds() []string {
	v := "version = 1\n"
	var vars2k strings.Builder
	vars2k.WriteString(v + "[vars]\n")
	for i := range 2000 {
		vars2k.WriteString("A" + itoa(i) + " = \"${A" + itoa(i+1) + ":-x}${A" + itoa(i+1) + ":-y}\"\n")
	}
	return []string{
		v + "x = " + strings.Repeat("{a=", 100_000) + "1" + strings.Repeat("}", 100_000),
		v + "x = " + strings.Repeat("[", 300_000) + strings.Repeat("]", 300_000),
		v + "[" + strings.Repeat("a.", 200_000) + "a]\n",
		v + strings.Repeat("[targets.x]\n", 50_000),
		doubling(40),
		vars2k.String() + "[targets.a]\nsh = \"${A0}\"\n",
		v + allToAll(370), // 0.45 MB, 68,000 edges
		v + "[targets.a]\ndeps = [" + strings.Repeat("\"nope\",", 120_000) + "]\n",
		v + "[targets.a]\nsh = [" + strings.Repeat("\"${X:-${Y:-${Z:-a}}}\",", 40_000) + "]\n",
	}
}
