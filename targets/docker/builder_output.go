package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"
)

// tailLines is how many log lines of a step a build error repeats.
const tailLines = 15

// BuildOutput turns the engine's build stream (classic "stream" text or
// BuildKit's protobuf trace) into readable lines on Out, reports the
// current step through Progress, and remembers the image ID and enough
// of each step to explain a failure.
type BuildOutput struct {
	Out      io.Writer
	Progress func(step string)
	// ImageID is the built image's ID, once the engine reported it.
	ImageID string
	// Exported, if set, is called once when BuildKit has written the
	// image into the engine's store and named it, with the image ID the
	// export reported. The stream goes on for a while after that:
	// BuildKit records the build's history first.
	Exported func(id string)

	bk      bkState
	classic classicState
}

// BuildError is a failed build: the engine's message, the step that failed
// and its last lines of output.
type BuildError struct {
	Step    string
	Message string
	Tail    []string
}

func (e *BuildError) Error() string {
	var b strings.Builder
	if e.Step != "" {
		fmt.Fprintf(&b, "step %s failed: %s", e.Step, e.Message)
	} else {
		b.WriteString(e.Message)
	}
	for _, l := range e.Tail {
		b.WriteString("\n  | " + l)
	}
	return b.String()
}

// Decode reads the whole stream. It returns a *BuildError when the engine
// reports one, and an error when the stream breaks off.
func (o *BuildOutput) Decode(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("reading build output: %w", err)
		}
		if m.Error != nil {
			o.flush()
			return o.failure(m.Error.Message)
		}
		if err := o.message(&m); err != nil {
			return err
		}
	}
	o.flush()
	return nil
}

func (o *BuildOutput) message(m *jsonstream.Message) error {
	switch {
	case m.ID == "moby.buildkit.trace" && m.Aux != nil:
		var raw []byte
		if err := json.Unmarshal(*m.Aux, &raw); err != nil {
			return fmt.Errorf("decoding build trace: %w", err)
		}
		return o.trace(raw)
	case m.Aux != nil:
		// moby.image.id (BuildKit) or the classic builder's bare {"ID": ...}.
		var aux struct{ ID string }
		if json.Unmarshal(*m.Aux, &aux) == nil && strings.HasPrefix(aux.ID, "sha256:") {
			o.ImageID = aux.ID
		}
	case m.Stream != "":
		o.stream(m.Stream)
	case m.Status != "":
		o.status(m)
	}
	return nil
}

// status prints pull and other status messages, without progress bars.
func (o *BuildOutput) status(m *jsonstream.Message) {
	if m.Progress != nil && m.Progress.Total > 0 {
		return
	}
	if m.ID != "" {
		o.line(m.ID + ": " + m.Status)
		return
	}
	o.line(m.Status)
}

func (o *BuildOutput) line(s string) {
	if o.Out != nil {
		fmt.Fprintln(o.Out, s)
	}
}

func (o *BuildOutput) progress(s string) {
	if o.Progress != nil {
		o.Progress(s)
	}
}

func (o *BuildOutput) flush() {
	o.classicFlush()
	o.bkFlush()
}

// failure builds the error for the engine's message: the failing BuildKit
// vertex if one says so, else the classic builder's current step.
func (o *BuildOutput) failure(msg string) error {
	if step, tail, ok := o.bkFailed(); ok {
		return &BuildError{Step: step, Message: msg, Tail: tail}
	}
	if o.classic.step != "" {
		return &BuildError{Step: o.classic.step, Message: msg, Tail: o.classic.tail.lines()}
	}
	return &BuildError{Message: msg}
}

// ring keeps the last tailLines lines.
type ring struct {
	buf  []string
	next int
	full bool
}

func (r *ring) add(s string) {
	if r.buf == nil {
		r.buf = make([]string, tailLines)
	}
	r.buf[r.next] = s
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

func (r *ring) lines() []string {
	if !r.full {
		return append([]string(nil), r.buf[:r.next]...)
	}
	return append(append([]string(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}
