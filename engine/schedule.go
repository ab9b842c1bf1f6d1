package engine

import (
	"context"
	"maps"
	"slices"
	"sync"
)

// schedule runs one goal's closure: pending counts per target and a ready
// queue, drained by at most jobs workers.
type schedule struct {
	r          *Runner
	pending    map[string]int
	dependents map[string][]string
	ready      chan string
	done       chan string
	todo       int
}

func newSchedule(r *Runner, names []string) *schedule {
	s := &schedule{
		r:          r,
		pending:    make(map[string]int, len(names)),
		dependents: make(map[string][]string, len(names)),
		ready:      make(chan string, len(names)),
		done:       make(chan string, len(names)),
	}
	for _, n := range names {
		if r.result(n) != nil {
			continue // finished under an earlier goal
		}
		s.todo++
		s.pending[n] = 0
	}
	for n := range s.pending {
		for _, d := range r.File.Targets[n].Deps {
			if _, ok := s.pending[d]; ok {
				s.pending[n]++
				s.dependents[d] = append(s.dependents[d], n)
			}
		}
	}
	return s
}

func (s *schedule) run(ctx context.Context) error {
	for _, n := range slices.Sorted(maps.Keys(s.pending)) {
		if s.pending[n] == 0 {
			s.ready <- n
		}
	}
	// A fixed pool of workers, not a goroutine per target: ten thousand
	// goroutines each growing a fresh stack cost more than the targets.
	work := make(chan string, s.todo)
	var wg sync.WaitGroup
	for range min(s.r.jobs(), max(s.todo, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				s.r.runTarget(ctx, n)
				s.done <- n
			}
		}()
	}
	defer wg.Wait()
	defer close(work)
	stopped := false
	for finished := 0; finished < s.todo; {
		select {
		case n := <-s.ready:
			if stopped || ctx.Err() != nil {
				s.r.record(&Result{Target: n, Kind: s.r.File.Targets[n].ActionKind(), Status: NotRun, Reason: s.notRunReason(ctx, n)})
				s.done <- n
				continue
			}
			work <- n
		case n := <-s.done:
			finished++
			if res := s.r.result(n); res.Status == Failed {
				stopped = true
			}
			for _, d := range s.dependents[n] {
				s.pending[d]--
				if s.pending[d] == 0 {
					s.ready <- d
				}
			}
		}
	}
	if stopped {
		return errDepFailed
	}
	return ctx.Err()
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
