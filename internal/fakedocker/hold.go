package fakedocker

import "context"

// hold is a call that Hold keeps waiting.
type hold struct {
	arrived, release, done chan struct{}
}

// Hold makes the next call of method wait until release is called, as an
// engine busy with it does; arrived is closed when the call comes. The
// engine then carries the call out whether or not its caller still
// waits: a caller whose context ended meanwhile got its context's error
// at once, and the object is made all the same, as on an engine that a
// client gave up on mid-way. release returns once the call is carried
// out. NetworkCreate honours it.
func (f *Engine) Hold(method string) (arrived <-chan struct{}, release func()) {
	h := &hold{arrived: make(chan struct{}), release: make(chan struct{}), done: make(chan struct{})}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holds[method] = h
	return h.arrived, func() {
		close(h.release)
		<-h.done
	}
}

type answer[T any] struct {
	v   T
	err error
}

// held carries out a call of method with do, the engine's side of it: at
// once, or when a Hold on it is released. The caller gets do's answer if
// its context is still live when the answer comes, else its context's
// error, at once.
func held[T any](ctx context.Context, f *Engine, method string, do func() (T, error)) (T, error) {
	f.mu.Lock()
	h := f.holds[method]
	delete(f.holds, method)
	f.mu.Unlock()
	if h == nil {
		return do()
	}
	close(h.arrived)
	answered := make(chan answer[T], 1)
	go func() {
		defer close(h.done)
		<-h.release
		v, err := do()
		answered <- answer[T]{v, err}
	}()
	var none T
	select {
	case a := <-answered:
		if ctx.Err() != nil { // the caller had stopped waiting
			return none, ctx.Err()
		}
		return a.v, a.err
	case <-ctx.Done():
		return none, ctx.Err()
	}
}
