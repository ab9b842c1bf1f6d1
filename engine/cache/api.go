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
}
