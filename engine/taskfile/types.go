package taskfile

import (
	"fmt"
	"strings"
	"time"
)

// UnmarshalTOML accepts a string or a list of strings.
func (l *StringList) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*l = StringList{v}
		return nil
	case []any:
		out := make(StringList, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("must be a string or a list of strings, but item %d is %s", i+1, describe(e))
			}
			out[i] = s
		}
		*l = out
		return nil
	}
	return fmt.Errorf("must be a string or a list of strings, not %s", describe(v))
}

// UnmarshalTOML accepts a Go duration string such as "60s" or "1m30s".
func (d *Duration) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		if n, isInt := v.(int64); isInt {
			return fmt.Errorf("bad duration %d: write it as a string with a unit, e.g. \"%ds\"", n, n)
		}
		return fmt.Errorf("bad duration: must be a string such as \"60s\", not %s", describe(v))
	}
	return d.UnmarshalText([]byte(s))
}

// UnmarshalText parses a Go duration string; negative durations are refused.
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q: %s (write e.g. \"90s\", \"1m30s\" or \"500ms\")", s, durationReason(err))
	}
	if v < 0 {
		return fmt.Errorf("bad duration %q: must not be negative", s)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as Go does ("1m0s"), so that encoding a
// File (TOML, JSON) gives back a string UnmarshalText accepts.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// durationReason keeps the why of time's `time: missing unit in duration "x"`.
func durationReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "missing unit"):
		return "missing unit"
	case strings.Contains(msg, "unknown unit"):
		return "unknown unit"
	}
	return "not a duration"
}

// describe names the TOML type of a decoded value, for messages.
func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []map[string]any:
		return "a list of tables"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	case nil:
		return "nothing"
	}
	return "a date"
}
