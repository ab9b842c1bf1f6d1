package cache

import "time"

// FormatVersion is mixed into every key; bump it when what a key means changes.
const FormatVersion = "dtask-cache-1"

// Line is one labelled line of a key: what was hashed and under which name.
type Line struct {
	Label string `json:"l"`
	Value string `json:"v"`
}

// Record is a recorded success: written after a target succeeds, read to
// decide that it is up to date and to explain why it is not.
type Record struct {
	Target   string            `json:"target"`
	Kind     string            `json:"kind"`
	Key      string            `json:"key"`
	Time     time.Time         `json:"time"`
	Duration time.Duration     `json:"duration"`
	Lines    []Line            `json:"lines"`
	Outputs  map[string]string `json:"outputs,omitempty"`
	// From says where a lookup found the record when not in the local
	// store ("remote cache"); it is never stored.
	From string `json:"-"`
	// Log is the end of the target's output, secrets masked, for a team
	// cache to keep beside the record; the local store does not keep it.
	Log string `json:"-"`
	// Source, when Lines is nil, is the key whose stored lines the record
	// keeps: the local store writes them from the key's compact form,
	// without a string per line (AllLines builds them for other readers).
	Source *Key `json:"-"`
}

// AllLines returns the record's lines: Lines, or its Source's stored
// lines.
func (r *Record) AllLines() []Line {
	if r.Lines == nil && r.Source != nil {
		return r.Source.Stored()
	}
	return r.Lines
}

// lineKey is what the record's lines are written from.
func (r *Record) lineKey() *Key {
	if r.Lines == nil && r.Source != nil {
		return r.Source
	}
	return &Key{lines: r.Lines}
}
