package engine

import (
	"context"
	"io"
	"slices"
	"sync"
	"sync/atomic"
)

// schedule runs one goal's closure: pending counts per target and a ready
// queue, drained by at most jobs workers. Targets are numbered (their
// place in names) so that ten thousand of them cost slices, not maps
// keyed by name.
type schedule struct {
	r       *Runner
	names   []string // the targets to run, sorted
	pending []int32  // per target: its deps not finished yet
	// dependents of target i are waiting[from[i]:from[i+1]].
	from, waiting []int32
	done          chan int32
	// prepared marks the targets whose Prepare was decided: each dep
	// that runs asks for its dependents, and the answer (when, the
	// action) does not change within the run.
	prepared []atomic.Bool
}

func newSchedule(r *Runner, closure []string) *schedule {
	s := &schedule{r: r, names: make([]string, 0, len(closure))}
	for _, n := range closure {
		if r.result(n) == nil { // else finished under an earlier goal
			s.names = append(s.names, n)
		}
	}
	slices.Sort(s.names)
	s.names = slices.Compact(s.names)
	at := make(map[string]int32, len(s.names))
	for i, n := range s.names {
		at[n] = int32(i)
	}
	// Each edge (dep, target) once, then grouped by dep.
	s.pending = make([]int32, len(s.names))
	s.from = make([]int32, len(s.names)+1)
	edges := make([][2]int32, 0, len(s.names))
	for i, n := range s.names {
		for _, d := range r.File.Targets[n].Deps {
			if j, ok := at[d]; ok {
				s.pending[i]++
				s.from[j+1]++
				edges = append(edges, [2]int32{j, int32(i)})
			}
		}
	}
	for i := range s.names {
		s.from[i+1] += s.from[i]
	}
	s.waiting = make([]int32, len(edges))
	next := slices.Clone(s.from[:len(s.names)])
	for _, e := range edges {
		s.waiting[next[e[0]]] = e[1]
		next[e[0]]++
	}
	s.done = make(chan int32, len(s.names))
	s.prepared = make([]atomic.Bool, len(s.names))
	return s
}

func (s *schedule) run(ctx context.Context) error {
	todo := len(s.names)
	q := newReadyQueue(s)
	for i, n := range s.pending {
		if n == 0 {
			q.add(int32(i))
		}
	}
	// A fixed pool of workers, not a goroutine per target: ten thousand
	// goroutines each growing a fresh stack cost more than the targets.
	workers := min(s.r.jobs(), max(todo, 1))
	work := make(chan int32, todo)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				s.r.runTarget(ctx, s, i)
				s.done <- i
			}
		}()
	}
	defer wg.Wait()
	defer close(work)
	stopped, idle := false, workers
	dispatched := make([]bool, todo)
	for finished := 0; finished < todo; {
		// A worker takes the ready target with the longest chain of
		// dependents first (see readyQueue).
		for q.len() > 0 && (idle > 0 || stopped || ctx.Err() != nil) {
			i := q.next()
			if stopped || ctx.Err() != nil {
				s.notRun(ctx, i)
				continue
			}
			dispatched[i], idle = true, idle-1
			work <- i
		}
		i := <-s.done
		finished++
		if dispatched[i] {
			idle++
			if res := s.r.result(s.names[i]); res.Status == Failed {
				stopped = true
			}
		}
		for _, d := range s.waiting[s.from[i]:s.from[i+1]] {
			s.pending[d]--
			if s.pending[d] == 0 {
				q.add(d)
			}
		}
	}
	if stopped {
		return errDepFailed
	}
	return ctx.Err()
}

// notRun records target i as not run and finished.
func (s *schedule) notRun(ctx context.Context, i int32) {
	n := s.names[i]
	s.r.record(&Result{Target: n, Kind: s.r.File.Targets[n].ActionKind(), Status: NotRun, Reason: s.notRunReason(ctx, n)})
	s.done <- i
}

func (s *schedule) notRunReason(ctx context.Context, n string) string {
	if ctx.Err() != nil {
		return "interrupted"
	}
	if _, why, blocked := s.r.blockedByDeps(s.r.File.Targets[n]); blocked {
		return why
	}
	return "stopped after a failure"
}

// prepareDependents lets the targets waiting on target i that implement
// Preparer get ready while it runs (see Preparer), each once a run
// however many of its deps run.
func (s *schedule) prepareDependents(ctx context.Context, i int32) {
	for _, d := range s.waiting[s.from[i]:s.from[i+1]] {
		t := s.r.File.Targets[s.names[d]]
		if len(t.Services) == 0 || t.FreshServices || !s.prepared[d].CompareAndSwap(false, true) {
			continue
		}
		if _, ok := s.r.when(t); !ok {
			continue
		}
		act, err := s.r.Actions(t, s.r.File)
		if err != nil {
			continue
		}
		if p, ok := act.(Preparer); ok {
			p.Prepare(ctx, &Exec{Target: t, Dir: s.r.File.TargetDir(t), Env: s.r.hostEnv(t),
				Stdout: io.Discard, Stderr: io.Discard, Shared: s.r.Shared})
		}
	}
}
