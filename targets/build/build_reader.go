package build

import (
	"io"
	"sync"

	"github.com/dtask-dev/dtask/targets/docker"
)

// buildReader reads a build's stream. For a BuildKit build that names its
// image it returns as soon as BuildKit has written the image into the
// engine's store and named it (the ID is the one the export reported, the
// one the stream's last message repeats), and reads the rest of the stream
// in the background with its output dropped: after the export BuildKit
// records the build's history (its whole progress log, into its store)
// before it ends the stream, 50 to 150 ms on Docker 28.5 that the
// target's dependents need not wait for.
type buildReader struct {
	body     io.Reader
	closeAll func() // the stream, the session; called once the stream ends
	early    bool   // return once the image is named (a BuildKit build with tags)
	stdout   io.Writer
	progress func(string)
}

// read returns the image ID and whether the stream is still being read
// (then the reader calls closeAll itself when it ends).
func (r *buildReader) read() (id string, detached bool, err error) {
	cut := &cutOutput{w: r.stdout, progress: r.progress}
	out := &docker.BuildOutput{Out: cut, Progress: cut.step}
	if !r.early {
		err := out.Decode(r.body)
		return out.ImageID, false, err
	}
	exported := make(chan string, 1)
	out.Exported = func(id string) { exported <- id }
	done := make(chan error, 1)
	go func() { done <- out.Decode(r.body) }()
	select {
	case err := <-done:
		return out.ImageID, false, err
	case id := <-exported:
		cut.cut()
		go func() {
			<-done
			r.closeAll()
		}()
		return id, true, nil
	}
}

// cutOutput passes a build's lines and steps on until cut, and drops them
// after: the target has returned, and its output is closed.
type cutOutput struct {
	mu       sync.Mutex
	w        io.Writer
	progress func(string)
	done     bool
}

func (c *cutOutput) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done || c.w == nil {
		return len(p), nil
	}
	return c.w.Write(p)
}

func (c *cutOutput) step(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done && c.progress != nil {
		c.progress(s)
	}
}

func (c *cutOutput) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
}
