package taskfile

import (
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestStringListDecode(t *testing.T) {
	tests := []struct {
		src     string
		want    []string
		wantErr string
	}{
		{`v = "echo hi"`, []string{"echo hi"}, ""},
		{`v = ["a", "b c"]`, []string{"a", "b c"}, ""},
		{`v = []`, []string{}, ""},
		{`v = ""`, []string{""}, ""},
		{`v = 3`, nil, "must be a string or a list of strings, not an integer"},
		{`v = ["a", 1]`, nil, "must be a string or a list of strings, but item 2 is an integer"},
		{`v = { a = "b" }`, nil, "must be a string or a list of strings, not a table"},
	}
	for _, tt := range tests {
		var v struct{ V StringList }
		_, err := toml.Decode(tt.src, &v)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.src, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if v.V == nil || strings.Join(v.V, "|") != strings.Join(tt.want, "|") || len(v.V) != len(tt.want) {
			t.Errorf("%s: got %q, want %q", tt.src, v.V, tt.want)
		}
	}
}

func TestDurationDecode(t *testing.T) {
	tests := []struct {
		src     string
		want    time.Duration
		wantErr string
	}{
		{`v = "60s"`, time.Minute, ""},
		{`v = "1m30s"`, 90 * time.Second, ""},
		{`v = "500ms"`, 500 * time.Millisecond, ""},
		{`v = "0s"`, 0, ""},
		{`v = "60"`, 0, `bad duration "60": missing unit`},
		{`v = "1 hour"`, 0, `bad duration "1 hour": unknown unit`},
		{`v = "-5s"`, 0, `bad duration "-5s": must not be negative`},
		{`v = 60`, 0, `bad duration 60: write it as a string with a unit, e.g. "60s"`},
		{`v = 1.5`, 0, `must be a string such as "60s", not a number`},
	}
	for _, tt := range tests {
		var v struct{ V Duration }
		_, err := toml.Decode(tt.src, &v)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.src, err, tt.wantErr)
			}
			continue
		}
		if err != nil || v.V.Duration != tt.want {
			t.Errorf("%s: got %v, %v; want %v", tt.src, v.V.Duration, err, tt.want)
		}
	}
	// What MarshalText writes, UnmarshalText reads back.
	d := Duration{90 * time.Second}
	b, _ := d.MarshalText()
	var back Duration
	if err := back.UnmarshalText(b); err != nil || back != d {
		t.Errorf("round trip of %s: %v %v", b, back, err)
	}
}
