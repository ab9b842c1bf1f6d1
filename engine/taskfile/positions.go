package taskfile

import "sync"

// positions is where each key of a task file is written. A file read back
// from the state folder (Parsed) comes without them and finds them again
// in its text on first use: only an error needs a position, and for ten
// thousand targets decoding the kept map cost three times what decoding
// the rest of the model did.
type positions struct {
	once sync.Once
	src  string // the task file's text, until it is located
	m    Positions
}

// located holds positions already found.
func located(m Positions) *positions {
	p := &positions{m: m}
	p.once.Do(func() {})
	return p
}

// unlocated finds the positions in src when they are first asked for.
func unlocated(src []byte) *positions { return &positions{src: string(src)} }

// get returns the positions (nil for a File made in code).
func (p *positions) get() Positions {
	if p == nil {
		return nil
	}
	p.once.Do(func() {
		p.m, _, _ = locate(p.src)
		p.src = ""
	})
	return p.m
}

// Pos maps a dotted key path ("targets.test.run.image") to where it is
// written. Read-only: Resolve's copy shares it.
func (f *File) Pos() Positions { return f.pos.get() }
