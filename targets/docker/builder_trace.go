package docker

import (
	"bytes"
	"fmt"
	"strings"

	controlapi "github.com/moby/buildkit/api/services/control"
	"google.golang.org/protobuf/proto"
)

// bkState follows BuildKit's vertices (steps) by digest, numbering them in
// order of appearance as `docker buildx --progress=plain` does.
type bkState struct {
	vertices map[string]*bkVertex
	order    []*bkVertex
	failed   *bkVertex
	// the image ID the export reported, how sure (builder_export.go), and
	// whether Exported was called
	written     string
	writtenRank int
	exported    bool
}

type bkVertex struct {
	num     int
	name    string
	shown   bool // its "#N name" line was printed
	done    bool
	partial []byte
	tail    ring
	err     string
}

func (o *BuildOutput) trace(raw []byte) error {
	var st controlapi.StatusResponse
	if err := proto.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("decoding build trace: %w", err)
	}
	for _, s := range st.Statuses {
		o.exportStatus(s)
	}
	for _, v := range st.Vertexes {
		o.vertex(v)
	}
	for _, l := range st.Logs {
		o.vertexLog(o.bkGet(l.Vertex), l.Msg)
	}
	for _, w := range st.Warnings {
		vx := o.bkGet(w.Vertex)
		o.line(fmt.Sprintf("#%d WARN: %s", vx.num, w.Short))
	}
	return nil
}

func (o *BuildOutput) bkGet(digest string) *bkVertex {
	s := &o.bk
	if s.vertices == nil {
		s.vertices = map[string]*bkVertex{}
	}
	vx := s.vertices[digest]
	if vx == nil {
		vx = &bkVertex{num: len(s.order) + 1}
		s.vertices[digest] = vx
		s.order = append(s.order, vx)
	}
	return vx
}

func (o *BuildOutput) vertex(v *controlapi.Vertex) {
	vx := o.bkGet(v.Digest)
	if v.Name != "" {
		vx.name = v.Name
	}
	if !vx.shown && (v.Started != nil || v.Cached) {
		vx.shown = true
		o.line(fmt.Sprintf("#%d %s", vx.num, vx.name))
		o.progress(vx.name)
	}
	if vx.done || (v.Completed == nil && !v.Cached) {
		return
	}
	vx.done = true
	o.vertexFlush(vx)
	defer o.exported(vx.name, v.Error)
	switch {
	case v.Error != "":
		vx.err = v.Error
		if o.bk.failed == nil && !strings.Contains(v.Error, "context canceled") {
			o.bk.failed = vx
		}
		o.line(fmt.Sprintf("#%d ERROR: %s", vx.num, v.Error))
	case v.Cached:
		o.line(fmt.Sprintf("#%d CACHED", vx.num))
	case v.Started != nil:
		d := v.Completed.AsTime().Sub(v.Started.AsTime())
		o.line(fmt.Sprintf("#%d DONE %.1fs", vx.num, d.Seconds()))
	default:
		o.line(fmt.Sprintf("#%d DONE", vx.num))
	}
}

// vertexLog prints a step's output line by line; a carriage return
// (a progress bar redrawing itself) keeps only what was drawn last.
func (o *BuildOutput) vertexLog(vx *bkVertex, msg []byte) {
	vx.partial = append(vx.partial, msg...)
	for {
		i := bytes.IndexByte(vx.partial, '\n')
		if i < 0 {
			return
		}
		o.vertexLine(vx, string(vx.partial[:i]))
		vx.partial = vx.partial[i+1:]
	}
}

func (o *BuildOutput) vertexLine(vx *bkVertex, l string) {
	if i := strings.LastIndexByte(strings.TrimRight(l, "\r"), '\r'); i >= 0 {
		l = l[i+1:]
	}
	l = strings.TrimRight(l, "\r")
	vx.tail.add(l)
	o.line(fmt.Sprintf("#%d %s", vx.num, l))
}

func (o *BuildOutput) vertexFlush(vx *bkVertex) {
	if len(vx.partial) > 0 {
		l := string(vx.partial)
		vx.partial = nil
		o.vertexLine(vx, l)
	}
}

func (o *BuildOutput) bkFlush() {
	for _, vx := range o.bk.order {
		o.vertexFlush(vx)
	}
}

// bkFailed names the vertex that failed, with its last lines.
func (o *BuildOutput) bkFailed() (step string, tail []string, ok bool) {
	vx := o.bk.failed
	if vx == nil {
		return "", nil, false
	}
	return fmt.Sprintf("#%d %s", vx.num, vx.name), vx.tail.lines(), true
}
