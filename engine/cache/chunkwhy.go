package cache

import "os"

// chunkRef is a reference line of a record or set.
type chunkRef struct {
	name string
	n    int
	set  bool
}

// Why explains why cur differs from the target's latest recorded success,
// as Diff does, reading only the chunks and sets that differ: an edit
// among 100,000 files compares one chunk's lines, not all of them. ok is
// false when there is no readable latest record.
func (s *Store) Why(target string, cur *Key) (reasons []string, ok bool) {
	last, ok := s.latestKey(target)
	if !ok {
		return nil, false
	}
	data, ok := s.read(last)
	if !ok {
		return nil, false
	}
	h, text, err := checkRecord(data)
	if err != nil || h.Target != target {
		return nil, false
	}
	var old []Line
	var top []chunkRef
	if parseLines(&old, text, func(name string, n int, set bool) error {
		top = append(top, chunkRef{name, n, set})
		return nil
	}) != nil {
		return nil, false
	}
	var tree []*chunk
	if len(top) > 0 && cur.Len() >= chunkFrom {
		tree = cur.chunks()
	}
	d := chunkDiff{s: s, old: old, cur: map[string]bool{}, seen: map[string]bool{}}
	for _, c := range tree {
		d.names(c)
	}
	for _, r := range top {
		if d.visit(r, 0) != nil {
			return nil, false
		}
	}
	if tree == nil {
		return diffLines(d.old, cur.Stored()), true
	}
	var rest []Line
	for _, c := range tree {
		rest = d.unseen(rest, c)
	}
	return diffLines(d.old, rest), true
}

// chunkDiff finds the lines of an old record and of a current file list
// that lie outside the chunks and sets both share.
type chunkDiff struct {
	s    *Store
	old  []Line          // the old record's lines outside shared chunks
	cur  map[string]bool // every chunk and set of the current list
	seen map[string]bool // every chunk and set the old record was seen to name
}

func (d *chunkDiff) names(c *chunk) {
	d.cur[c.name] = true
	for _, k := range c.kids {
		d.names(k)
	}
}

// visit reads the old lines beneath r that the current list does not
// share.
func (d *chunkDiff) visit(r chunkRef, depth int) error {
	d.seen[r.name] = true
	switch {
	case d.cur[r.name]:
		return nil
	case depth > maxLevels:
		return errCorrupt
	case !r.set:
		return d.s.readChunk(&d.old, r.name, r.n, false, 0)
	}
	err := d.visitSet(r, depth)
	if err != nil && len(r.name) == 32 && validKey(r.name) {
		_ = os.Remove(d.s.chunkPath(r.name, true)) // as readChunk does
	}
	return err
}

func (d *chunkDiff) visitSet(r chunkRef, depth int) error {
	data, err := d.s.chunkData(r.name, true)
	if err != nil {
		return err
	}
	kids, err := setRefs(data)
	total := 0
	for _, k := range kids {
		total += k.n
	}
	if err != nil || total != r.n {
		return errCorrupt
	}
	for _, k := range kids {
		if err := d.visit(k, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// unseen appends the current lines beneath c that the old record does not
// share.
func (d *chunkDiff) unseen(rest []Line, c *chunk) []Line {
	switch {
	case d.seen[c.name]:
		return rest
	case c.set:
		for _, k := range c.kids {
			rest = d.unseen(rest, k)
		}
		return rest
	}
	c.src.eachStored(c.from, c.from+c.lines, func(label, value []byte) {
		rest = append(rest, Line{string(label), string(value)})
	})
	return rest
}

// setRefs parses a set's references; a set holds nothing else.
func setRefs(data []byte) ([]chunkRef, error) {
	var kids []chunkRef
	var plain []Line
	err := parseLines(&plain, string(data), func(name string, n int, set bool) error {
		kids = append(kids, chunkRef{name, n, set})
		return nil
	})
	if err != nil || len(plain) > 0 {
		return nil, errCorrupt
	}
	return kids, nil
}
