package docker

import (
	"regexp"
	"strings"
)

// classicState follows the classic builder's text stream.
type classicState struct {
	partial string
	step    string // "2/5 : RUN make"
	tail    ring
}

var classicStep = regexp.MustCompile(`^Step (\d+/\d+ : .*)$`)

// stream handles the classic builder's text, which arrives in arbitrary
// pieces: only whole lines are printed.
func (o *BuildOutput) stream(s string) {
	c := &o.classic
	s = c.partial + s
	c.partial = ""
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			c.partial = s
			return
		}
		o.classicLine(strings.TrimRight(s[:i], "\r"))
		s = s[i+1:]
	}
}

func (o *BuildOutput) classicLine(l string) {
	c := &o.classic
	if m := classicStep.FindStringSubmatch(l); m != nil {
		c.step = "[" + strings.Replace(m[1], " : ", "] ", 1)
		c.tail = ring{}
		o.progress(c.step)
	} else if !classicNoise(l) {
		c.tail.add(l)
	}
	o.line(l)
}

func (o *BuildOutput) classicFlush() {
	if p := o.classic.partial; p != "" {
		o.classic.partial = ""
		o.classicLine(p)
	}
}

// classicNoise is the classic builder's bookkeeping, which says nothing
// about why a step failed.
func classicNoise(l string) bool {
	return strings.HasPrefix(l, " ---> ") || strings.HasPrefix(l, "Removing intermediate container ")
}
