package targets

import (
	"context"
	"sync"
)

// StageSave is a stage image one build target of a run builds and saves
// to the layer store for every target of the run that needs the same
// stage (two targets of one Dockerfile whose images both copy from a
// build stage): the others name the entry it saved rather than build the
// stage again and export it in their own docker save.
type StageSave struct {
	done   chan struct{}
	id     string // the image saved; "" when the save failed
	forget func() // drops a failed save, so that the next to ask makes it
}

// ShareStage returns the run's save of the stage image that key
// describes. mine is true for the first to ask, which is to build and
// save it and then call Done; the others Wait for it. key must name all
// that decides the image (see the build action's stageKey).
func (e *Env) ShareStage(key string) (s *StageSave, mine bool) {
	lc := e.layerRun()
	lc.stagesMu.Lock()
	defer lc.stagesMu.Unlock()
	if s, ok := lc.stages[key]; ok {
		return s, false
	}
	if lc.stages == nil {
		lc.stages = map[string]*StageSave{}
	}
	s = &StageSave{done: make(chan struct{})}
	s.forget = func() {
		lc.stagesMu.Lock()
		defer lc.stagesMu.Unlock()
		if lc.stages[key] == s {
			delete(lc.stages, key)
		}
	}
	lc.stages[key] = s
	return s, true
}

// Done ends the save: id is the image the store now holds, "" when it
// failed or was not made (those waiting then do without).
func (s *StageSave) Done(id string) {
	if id == "" {
		s.forget()
	}
	s.id = id
	close(s.done)
}

// Wait returns the image Done saved, "" when it failed.
func (s *StageSave) Wait(ctx context.Context) (string, error) {
	select {
	case <-s.done:
		return s.id, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// stageSaves is the run's StageSaves by key (see layerCache).
type stageSaves struct {
	stagesMu sync.Mutex
	stages   map[string]*StageSave
}
